from django.apps import AppConfig


class OnwardConfig(AppConfig):
    name = "onward"
    verbose_name = "Onward referrals and the partner API"

    def ready(self):
        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        from . import reminders  # noqa: F401  (registers the cancel_if hook for onward-referral reminders)

        register(NavItem("Onward referrals", "onward-referral-list", Capability.HANDLE_REFERRALS, order=32))
        # SPEC 2: the clinic manager sees the referral lists of their clinic (read-only).
        register(NavItem("Onward referrals", "onward-referral-list", Capability.VIEW_REFERRALS, order=32))
        register(NavItem("Failed deliveries", "onward-failed-deliveries", Capability.HANDLE_REFERRALS, order=33))

        from clinics.roles import Role
        from clinics.work_queues import WorkQueue
        from clinics.work_queues import register as register_queue

        from . import selectors

        register_queue(
            WorkQueue(Role.KEYWORKER, "onward referrals not acknowledged", "onward-referral-list",
                      Capability.HANDLE_REFERRALS, selectors.onward_referrals_unacknowledged, order=22)
        )  # fmt: skip

        from patients.record_links import RecordLink
        from patients.record_links import register as register_record_link

        register_record_link(
            RecordLink(
                "Onward referrals", "onward-referral-list", Capability.HANDLE_REFERRALS, order=20, query="patient"
            )
        )
