from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Drug early-warning alerts"

    def ready(self):
        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        # Every role that works in a clinic sees the alerts; prescribers and managers publish.
        for capability in (Capability.VIEW_PATIENTS, Capability.VIEW_BOARD):
            register(NavItem("Drug alerts", "alert-list", capability, order=60))
