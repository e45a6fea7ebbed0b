from django.apps import AppConfig


class OnwardConfig(AppConfig):
    name = "onward"
    verbose_name = "Onward referrals and the partner API"

    def ready(self):
        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        # Issue 16: a diversion contract stops with its treatment episode and with the patient's consent.
        from patients import consent_hooks, episode_hooks

        from . import reminders  # noqa: F401  (registers the cancel_if hook for onward-referral reminders)
        from .diversion import services as diversion  # registers the cancel_if hook for diversion deliveries

        episode_hooks.on_episode_end(diversion.on_episode_end)
        consent_hooks.on_data_sharing_withdrawn(diversion.on_consent_withdrawn)

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
        register_record_link(
            RecordLink(
                "Diversion contracts", "diversion-contract-list", Capability.HANDLE_REFERRALS, order=21, query="patient"
            )
        )
