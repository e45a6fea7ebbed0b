# Alert emails move to the outbox (deliveries). An alert whose email had not gone when this runs
# (its task lost with a broker that was down) gets its outbox row now, so no alert is forgotten.

from django.db import migrations
from django.utils import timezone


def enqueue_unsent_alert_emails(apps, schema_editor):
    Alert = apps.get_model("dosing", "Alert")
    OutboxMessage = apps.get_model("deliveries", "OutboxMessage")
    now = timezone.now()
    unsent = Alert.objects.filter(email_sent_at__isnull=True).exclude(recipient__email="")
    for alert in unsent.select_related("recipient", "clinic").iterator():
        kind = alert.get_kind_display().lower()
        OutboxMessage.objects.get_or_create(
            dedupe_key=f"dosing-alert:{alert.pk}",
            defaults={
                "kind": f"dosing.alert.{alert.kind}",
                "clinic_id": alert.clinic_id,
                "subject": f"HAT Clinic: {kind} at {alert.clinic.name}"[:200],
                "body": (
                    f"A {kind} was recorded at {alert.clinic.name} and needs your review.\n"
                    f"Sign in to HAT Clinic to see the details (alert reference {alert.pk}).\n"
                ),
                "recipient_email": alert.recipient.email,
                "due_at": now,
                "next_attempt_at": now,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("dosing", "0011_alert_kinds_licence_and_dose_raised"),
        ("deliveries", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(enqueue_unsent_alert_emails, migrations.RunPython.noop),
        migrations.RemoveField(model_name="alert", name="email_sent_at"),
    ]
