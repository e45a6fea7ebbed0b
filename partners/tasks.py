"""Celery tasks of the partners app (CELERY_BEAT_SCHEDULE in hat_clinic/settings.py)."""

from celery import shared_task
from oauth2_provider.models import clear_expired


@shared_task
def clear_expired_tokens_job() -> None:
    """Delete expired partner access tokens (15-minute tokens otherwise pile up, one per fetch)."""
    clear_expired()
