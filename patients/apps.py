from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Patients, episodes, consent and outcomes"

    def ready(self):
        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        register(NavItem("Patients", "patient-list", Capability.VIEW_PATIENTS, order=20))
        register(NavItem("Outcome interviews due", "outcomes-due", Capability.HANDLE_REFERRALS, order=40))

        from clinics.roles import Role
        from clinics.work_queues import WorkQueue
        from clinics.work_queues import register as register_queue

        from . import selectors

        register_queue(
            WorkQueue(Role.KEYWORKER, "outcome interviews due", "outcomes-due", Capability.HANDLE_REFERRALS,
                      selectors.outcome_interviews_due, order=21)
        )  # fmt: skip
        register_queue(
            WorkQueue(Role.KEYWORKER, "treatment consents to renew", "consents-to-renew", Capability.HANDLE_REFERRALS,
                      selectors.consents_to_renew_count, order=22)
        )  # fmt: skip
