from django import template

from health.selectors import scheduled_jobs

register = template.Library()


@register.inclusion_tag("health/_scheduled_jobs.html")
def scheduled_jobs_notice():
    """For the clinic manager's home page: when the scheduled jobs last ran, and a warning when late."""
    jobs = scheduled_jobs()
    return {"jobs": jobs, "warning": jobs.warning()}
