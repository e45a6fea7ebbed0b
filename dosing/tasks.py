"""Celery tasks: thin wrappers around services (alert emails go through the outbox, deliveries/).

Beat runs `create_slots_job` every 15 minutes and `close_missed_slots_job` every minute
(CELERY_BEAT_SCHEDULE in hat_clinic/settings.py); both are safe to run twice or late.
"""

import logging

from celery import shared_task

from . import services

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
