"""Record each beat job's successful run as a heartbeat named after its task (issue 13)."""

import logging

from celery.signals import task_success
from django.conf import settings

from .services import record_heartbeat

logger = logging.getLogger("health")


def _scheduled_tasks() -> set[str]:
    return {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


@task_success.connect
def _record_scheduled_job_run(sender=None, **kwargs) -> None:
    if sender is None or sender.name not in _scheduled_tasks():
        return
    try:
        record_heartbeat(name=sender.name)
    except Exception as exc:  # bookkeeping only: never fail the job that has just succeeded
        logger.warning("could not record the run of %s (%s)", sender.name, exc.__class__.__name__)
