from django.apps import AppConfig


class ClinicsConfig(AppConfig):
    name = "clinics"
    verbose_name = "Clinics and staff"

    def ready(self):
        from .navigation import NavItem, register

        register(NavItem("Home", "home", order=0))
