from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals in"

    def ready(self):
        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        register(NavItem("Referral inbox", "referral-list", Capability.HANDLE_REFERRALS, order=30))
        register(NavItem("Referrals to sign off", "referral-sign-off-list", Capability.SIGN_OFF_REFERRALS, order=31))
        # SPEC 2: the clinic manager sees the referral lists of their clinic (read-only).
        register(NavItem("Referral inbox", "referral-list", Capability.VIEW_REFERRALS, order=30))
        register(NavItem("Eligibility criteria", "referral-eligibility", Capability.MANAGE_CLINIC, order=80))

        from clinics.roles import Role
        from clinics.work_queues import WorkQueue
        from clinics.work_queues import register as register_queue

        from . import selectors

        for queue in (
            WorkQueue(Role.KEYWORKER, "referrals awaiting assessment", "referral-list", Capability.HANDLE_REFERRALS,
                      selectors.referrals_awaiting_assessment, order=20),
            WorkQueue(Role.PRESCRIBER, "referrals to sign off", "referral-sign-off-list", Capability.SIGN_OFF_REFERRALS,
                      selectors.referrals_awaiting_sign_off, order=20),
        ):  # fmt: skip
            register_queue(queue)
