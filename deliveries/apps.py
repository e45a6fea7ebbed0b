from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    name = "deliveries"
    verbose_name = "Reminders and alerts: email and signed webhooks through an outbox"
