"""Demo: build the statistics summary tables from whatever the other apps' demo data wrote. Idempotent.

Called by `manage.py seed_demo` last (reports is the last of our apps). Without a broker the
scheduled job (`run_scheduled_jobs`) keeps them up to date afterwards.
"""

from . import services


def seed(*, clinics, staff, stdout) -> None:
    rows = services.refresh_summaries()
    services.mark_refreshed()
    stdout.write(f"reports: summary tables built ({rows} clinic-day-session rows).")
