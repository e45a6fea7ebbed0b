from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "Partner agencies"

    def ready(self):
        from clinics.navigation import NavItem, register
        from clinics.roles import Capability

        from . import schema  # noqa: F401  (registers the OpenAPI description of partner authentication)

        register(NavItem("Partners", "partner-list", Capability.MANAGE_CLINIC, order=70))
