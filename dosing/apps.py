from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = "Prescriptions and supervised dosing"

    def ready(self):
        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        register(NavItem("Dosing board", "dosing-board", Capability.RECORD_DOSES, order=10))
        register(NavItem("Holds to review", "dosing-holds", Capability.PRESCRIBE, order=30))
        register(NavItem("Alerts", "dosing-alerts", Capability.PRESCRIBE, order=35))

        from patients.record_links import RecordLink
        from patients.record_links import register as register_record_link

        register_record_link(
            RecordLink("Prescriptions", "dosing-patient-prescriptions", Capability.RECORD_DOSES, order=10)
        )
        register_record_link(
            RecordLink("Planned absences", "dosing-patient-absences", Capability.VIEW_PATIENTS, order=15)
        )

        # S13: ending a treatment episode stops the prescriptions and cancels the slots, in the same transaction.
        from patients.episode_hooks import on_episode_end

        from .services.episodes import end_treatment_with_episode

        on_episode_end(end_treatment_with_episode)
