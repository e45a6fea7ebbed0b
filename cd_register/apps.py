from django.apps import AppConfig


class CdRegisterConfig(AppConfig):
    name = "cd_register"
    verbose_name = "Controlled-drug register"

    def ready(self):
        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        # The same page for both: nurses and prescribers draw and check stock, managers receive it.
        register(NavItem("CD register", "cd-register-list", Capability.RECORD_DOSES, order=50))
        register(NavItem("CD register", "cd-register-list", Capability.MANAGE_CLINIC, order=50))
        register(NavItem("CD discrepancies", "cd-discrepancy-list", Capability.MANAGE_CLINIC, order=51))

        from clinics.roles import Role
        from clinics.work_queues import WorkQueue
        from clinics.work_queues import register as register_queue

        from . import selectors

        for queue in (
            WorkQueue(Role.CLINIC_MANAGER, "controlled-drug discrepancies open", "cd-discrepancy-list",
                      Capability.MANAGE_CLINIC, selectors.open_discrepancies, order=30),
            WorkQueue(Role.CLINIC_MANAGER, "registers due a stock check (none in 7 days)", "cd-register-list",
                      Capability.MANAGE_CLINIC, selectors.stock_checks_due, order=31),
        ):  # fmt: skip
            register_queue(queue)
