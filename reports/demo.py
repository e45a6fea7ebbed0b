"""Demo: two years of statistics history for each demo clinic, then the summary tables built from every record
the other apps' demo data wrote. Idempotent.

Called by `manage.py seed_demo` last (reports is the last of our apps). Without a broker the
scheduled job (`run_scheduled_jobs`) keeps the summaries up to date afterwards.
"""

from django.utils import timezone

from . import services
from .demo_history import seed_history as seed_history_of

# Caseload of each demo clinic's history (patients over the two years).
HISTORY = {"mbro": 16, "darl": 10}
HISTORY_DAYS = 730


def seed_history(*, clinics, staff, stdout, history: dict | None = None, days: int = HISTORY_DAYS) -> int:
    """The past of each demo clinic (patients, doses with their register lines, interviews): run by seed_demo
    before every app's `seed`, so that the registers' entries run in time order. Returns the slots written."""
    today = timezone.localdate()
    written = 0
    for n, (code, patients) in enumerate((HISTORY if history is None else history).items()):
        if code in clinics:
            written += seed_history_of(
                clinics[code], patients=patients, days=days, today=today, staff=staff, seed=n + 1
            )
    if written:
        stdout.write(f"reports: {written} past sessions of history, each dose with its register lines.")
    return written


def seed(*, clinics, staff, stdout, history: dict | None = None, days: int = HISTORY_DAYS) -> None:
    seed_history(clinics=clinics, staff=staff, stdout=stdout, history=history, days=days)  # (none twice)
    rows = services.refresh_summaries()
    services.mark_refreshed()
    stdout.write(f"reports: summary tables built ({rows} clinic-day-session rows).")
