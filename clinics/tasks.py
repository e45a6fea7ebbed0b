"""Celery tasks of the clinics app: housekeeping (CELERY_BEAT_SCHEDULE in hat_clinic/settings.py)."""

from celery import shared_task

from .idempotency import purge_expired_keys


@shared_task
def purge_expired_idempotency_keys_job() -> int:
    """Forget Idempotency-Keys past IDEMPOTENCY_KEY_TTL: they hold copies of API answers."""
    return purge_expired_keys()
