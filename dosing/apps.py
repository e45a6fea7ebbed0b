from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = "Prescriptions and supervised dosing"

    def ready(self):
        from django.db.models.signals import post_migrate, pre_migrate

        from .sqlite_board_triggers import create_after_migrate, drop_before_migrate

        pre_migrate.connect(drop_before_migrate, sender=self)
        post_migrate.connect(create_after_migrate, sender=self)

        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        register(NavItem("Dosing board", "dosing-board", Capability.VIEW_BOARD, order=10))
        register(NavItem("Holds to review", "dosing-holds", Capability.PRESCRIBE, order=30))
        register(NavItem("Alerts", "dosing-alerts", Capability.PRESCRIBE, order=35))
        register(NavItem("Dosing settings", "dosing-settings", Capability.MANAGE_CLINIC, order=85))
        register(NavItem("Prescriber licences", "dosing-licences", Capability.MANAGE_CLINIC, order=86))

        from clinics.roles import Role
        from clinics.work_queues import WorkQueue
        from clinics.work_queues import register as register_queue

        from . import selectors

        for queue in (
            WorkQueue(Role.NURSE, "expected this session", "dosing-board", Capability.RECORD_DOSES,
                      selectors.expected_in_session, order=10),
            WorkQueue(Role.NURSE, "to sign out after observation", "dosing-board", Capability.RECORD_DOSES,
                      selectors.waiting_to_sign_out, order=11),
            WorkQueue(Role.PRESCRIBER, "holds to review", "dosing-holds", Capability.PRESCRIBE,
                      selectors.holds_waiting, order=10),
            WorkQueue(Role.PRESCRIBER, "reduced doses to review (past 7 days)", "dosing-review-reductions",
                      Capability.PRESCRIBE, selectors.reductions_waiting, order=11),
            WorkQueue(Role.PRESCRIBER, "titration steps due", "dosing-review-titrations", Capability.PRESCRIBE,
                      selectors.titrations_waiting, order=12),
            WorkQueue(Role.PRESCRIBER, "prescriber licences ending (30 days)", "dosing-review-licences",
                      Capability.PRESCRIBE, selectors.licences_expiring, order=13),
        ):  # fmt: skip
            register_queue(queue)

        from clinics.work_queues import HeaderBadge, register_badge

        register_badge(HeaderBadge("Alerts", "dosing-alerts", Capability.PRESCRIBE, selectors.unread_alert_count))

        from patients.record_links import RecordLink
        from patients.record_links import register as register_record_link

        register_record_link(
            RecordLink("Prescriptions", "dosing-patient-prescriptions", Capability.RECORD_DOSES, order=10)
        )
        register_record_link(RecordLink("Dose history", "dosing-patient-history", Capability.RECORD_DOSES, order=11))

        from patients.record_links import RecordPanel, register_panel

        from .history import render_panel

        register_panel(RecordPanel("dose-history", render_panel, Capability.RECORD_DOSES, order=10))
        register_record_link(
            RecordLink("Planned absences", "dosing-patient-absences", Capability.VIEW_PATIENTS, order=15)
        )

        # S13: ending a treatment episode stops the prescriptions and cancels the slots, in the same transaction.
        from patients.episode_hooks import on_episode_end

        from .services.episodes import end_treatment_with_episode

        on_episode_end(end_treatment_with_episode)
