from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "health"
    verbose_name = "Service health"

    def ready(self):
        from . import signals  # noqa: F401 (connects the scheduled-job heartbeat)
