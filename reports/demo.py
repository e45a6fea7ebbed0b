"""Demo: two years of statistics history for each demo clinic, then the summary tables built from every record
the other apps' demo data wrote. Idempotent.

Called by `manage.py seed_demo` last (reports is the last of our apps). Without a broker the
scheduled job (`run_scheduled_jobs`) keeps the summaries up to date afterwards.
"""

from django.utils import timezone

from . import services
from .demo_history import seed_history

# Caseload of each demo clinic's history (patients over the two years).
HISTORY = {"mbro": 16, "darl": 10}
HISTORY_DAYS = 730


def seed(*, clinics, staff, stdout, history: dict | None = None, days: int = HISTORY_DAYS) -> None:
    today = timezone.localdate()
    written = 0
    for n, (code, patients) in enumerate((HISTORY if history is None else history).items()):
        if code in clinics:
            written += seed_history(clinics[code], patients=patients, days=days, today=today, staff=staff, seed=n + 1)
    rows = services.refresh_summaries()
    services.mark_refreshed()
    stdout.write(f"reports: {written} past sessions of history; summary tables built ({rows} clinic-day-session rows).")
