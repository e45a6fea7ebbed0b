from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Commissioner statistics"

    def ready(self):
        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        register(NavItem("Statistics", "reports-dashboard", Capability.VIEW_STATISTICS, order=80))
