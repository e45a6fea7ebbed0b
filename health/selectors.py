"""When the scheduled (beat) jobs last ran, for /health/ and the clinic manager's home page (issue 13).

Nothing clinical waits for these jobs (S7 and S11 are decided from facts at dose time), but a
stopped beat or worker means no reminders, no statistics refresh and no slots made ahead: staff
should hear of it within minutes, not days.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .models import Heartbeat

BEAT = "beat"  # the heartbeat job's row: beat sends it every minute (and once when beat starts)
STALE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class JobRun:
    name: str  # the beat schedule's entry
    task: str
    last_run: datetime | None
    stale: bool


@dataclass(frozen=True)
class ScheduledJobs:
    last_run: datetime | None  # the heartbeat: the last time beat and a worker worked together
    stale: bool
    jobs: list[JobRun]

    @property
    def age(self) -> timedelta | None:
        return None if self.last_run is None else timezone.now() - self.last_run

    def warning(self, *, now: datetime | None = None) -> str:
        """Plain words for staff, empty when all is well."""
        if not self.stale:
            return ""
        if self.last_run is None:
            return "The scheduled jobs have never run: is the Celery beat service (and a worker) running?"
        minutes = int(((now or timezone.now()) - self.last_run).total_seconds() // 60)
        return (
            f"The scheduled jobs last ran {minutes} minutes ago: check that the Celery beat service and a "
            "worker are running. Dosing is not affected; reminders, missed-slot closing and statistics wait."
        )


def _interval(entry: dict) -> timedelta:
    schedule = entry["schedule"]
    return schedule if isinstance(schedule, timedelta) else timedelta(seconds=float(schedule))


def scheduled_jobs(*, now: datetime | None = None) -> ScheduledJobs:
    """The heartbeat and each beat job's last successful run (one query)."""
    now = now or timezone.now()
    seen = dict(Heartbeat.objects.values_list("name", "seen_at"))
    jobs = []
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        last = seen.get(entry["task"])
        # A job is late when it missed two of its own runs, and never sooner than STALE_AFTER.
        late_after = max(STALE_AFTER, 2 * _interval(entry) + timedelta(minutes=1))
        jobs.append(JobRun(name=name, task=entry["task"], last_run=last, stale=last is None or now - last > late_after))
    beat = seen.get(BEAT)
    return ScheduledJobs(last_run=beat, stale=beat is None or now - beat > STALE_AFTER, jobs=jobs)
