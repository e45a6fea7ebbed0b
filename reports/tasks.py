"""Celery tasks: the summary-table refresh (beat runs it every 5 minutes; safe to run twice or late)."""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task
def refresh_summaries_job() -> dict:
    result = services.refresh_changed()
    logger.info("statistics summaries refreshed: %s", result)
    return result
