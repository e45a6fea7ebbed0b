from celery import shared_task

from .diversion.services import diversion_weekly_summaries


@shared_task
def diversion_weekly_summaries_job() -> int:
    """Beat, hourly: last week's summary of every live diversion contract, once each (issue 16)."""
    return diversion_weekly_summaries()
