"""Celery tasks: thin wrappers around services, plus the alert email (queued after commit).

Beat runs `create_slots_job` every 15 minutes and `close_missed_slots_job` every minute
(CELERY_BEAT_SCHEDULE in hat_clinic/settings.py); both are safe to run twice or late.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from . import services
from .models import Alert

logger = logging.getLogger(__name__)


@shared_task
def create_slots_job(days_ahead: int = 1) -> int:
    return services.create_slots(days_ahead=days_ahead)


@shared_task
def close_missed_slots_job() -> int:
    return services.close_missed_slots()


@shared_task
def licence_expiry_alerts_job() -> int:
    """S14: alert prescribers and managers 30 and 7 days before a licence ends (each alert once)."""
    return services.licence_expiry_alerts()


@shared_task(bind=True, max_retries=8, default_retry_delay=60)
def send_alert_email(self, alert_id: int) -> None:
    """Email one alert to its recipient, once.

    The row is claimed with a conditional update (only one worker wins); if sending fails the
    claim is released and the task retries with back-off. The email names no patient: it
    only says that something needs the prescriber's attention in the app.
    """
    claimed = Alert.objects.filter(pk=alert_id, email_sent_at__isnull=True).update(email_sent_at=timezone.now())
    if not claimed:
        return
    alert = Alert.objects.select_related("recipient", "clinic").get(pk=alert_id)
    if not alert.recipient.email:
        logger.warning("alert %s: recipient %s has no email address", alert.pk, alert.recipient_id)
        return
    subject = f"HAT Clinic: {alert.get_kind_display().lower()} at {alert.clinic.name}"
    body = (
        f"A {alert.get_kind_display().lower()} was recorded at {alert.clinic.name} and needs your review.\n"
        "Sign in to HAT Clinic to see the details (alert reference "
        f"{alert.pk}).\n"
    )
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [alert.recipient.email])
    except Exception as error:
        Alert.objects.filter(pk=alert_id).update(email_sent_at=None)
        raise self.retry(exc=error, countdown=60 * 2**self.request.retries) from error
