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
