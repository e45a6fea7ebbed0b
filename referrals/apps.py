from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals in and onward referrals"

    def ready(self):
        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        from . import reminders  # noqa: F401  (registers the cancel_if hook for onward-referral reminders)

        register(NavItem("Referral inbox", "referral-list", Capability.HANDLE_REFERRALS, order=30))
        register(NavItem("Referrals to sign off", "referral-sign-off-list", Capability.SIGN_OFF_REFERRALS, order=31))
        register(NavItem("Onward referrals", "onward-referral-list", Capability.HANDLE_REFERRALS, order=32))
        # SPEC 2: the clinic manager sees the referral lists of their clinic (read-only).
        register(NavItem("Referral inbox", "referral-list", Capability.VIEW_REFERRALS, order=30))
        register(NavItem("Onward referrals", "onward-referral-list", Capability.VIEW_REFERRALS, order=32))
        register(NavItem("Failed deliveries", "onward-failed-deliveries", Capability.HANDLE_REFERRALS, order=33))
        register(NavItem("Eligibility criteria", "referral-eligibility", Capability.MANAGE_CLINIC, order=80))

        from clinics.roles import Role
        from clinics.work_queues import WorkQueue
        from clinics.work_queues import register as register_queue

        from . import onward_selectors, selectors

        for queue in (
            WorkQueue(Role.KEYWORKER, "referrals awaiting assessment", "referral-list", Capability.HANDLE_REFERRALS,
                      selectors.referrals_awaiting_assessment, order=20),
            WorkQueue(Role.KEYWORKER, "onward referrals not acknowledged", "onward-referral-list",
                      Capability.HANDLE_REFERRALS, onward_selectors.onward_referrals_unacknowledged, order=22),
            WorkQueue(Role.PRESCRIBER, "referrals to sign off", "referral-sign-off-list", Capability.SIGN_OFF_REFERRALS,
                      selectors.referrals_awaiting_sign_off, order=20),
        ):  # fmt: skip
            register_queue(queue)

        from patients.record_links import RecordLink
        from patients.record_links import register as register_record_link

        register_record_link(
            RecordLink(
                "Onward referrals", "onward-referral-list", Capability.HANDLE_REFERRALS, order=20, query="patient"
            )
        )
