from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Patients, episodes, consent and outcomes"

    def ready(self):
        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        register(NavItem("Patients", "patient-list", Capability.VIEW_PATIENTS, order=20))
        register(NavItem("Outcome interviews due", "outcomes-due", Capability.HANDLE_REFERRALS, order=40))
