from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = "Prescriptions and supervised dosing"

    def ready(self):
        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        register(NavItem("Dosing board", "dosing-board", Capability.VIEW_BOARD, order=10))
        register(NavItem("Holds to review", "dosing-holds", Capability.PRESCRIBE, order=30))
        register(NavItem("Alerts", "dosing-alerts", Capability.PRESCRIBE, order=35))
        register(NavItem("Dosing settings", "dosing-settings", Capability.MANAGE_CLINIC, order=85))
        register(NavItem("Prescriber licences", "dosing-licences", Capability.MANAGE_CLINIC, order=86))

        from patients.record_links import RecordLink
        from patients.record_links import register as register_record_link

        register_record_link(
            RecordLink("Prescriptions", "dosing-patient-prescriptions", Capability.RECORD_DOSES, order=10)
        )
