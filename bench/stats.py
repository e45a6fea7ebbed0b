"""Statistics measurements (issue 7): the commissioner dashboard over real HTTP, and the naive baseline.

Targets (issue 15): the outcomes dashboard's first view (cold: nothing cached) p95 <= 150 ms and a
cached view p95 <= 40 ms for 10 clinics over 5 years (the `seed_scale` data), and the first view at
least 10 times faster than the same headline figure (attendance rate per month over 5 years, all
clinics) computed by a plain SQL aggregate over the raw slots table ("missed" when it is not).

Pieces for `make bench` (each returns durations in ms, like bench.dosing):
- `dashboard(base, session, requests=, warmup=)`: GET /reports/ for every clinic the signed-in
  commissioner covers, monthly, over the last 5 years; `dashboard_api(...)`: the same as JSON.
- `naive_attendance_by_month(database_url, requests=, warmup=)`: the baseline SQL on dosing_slot.
- `summary_attendance_by_month(database_url, ...)`: the same figure from the summary table.
- `headline_figures(database_url)`: both figures, to check they agree before timing them.

Standalone, against a running server and the scale database:

    python -m bench.stats --base http://127.0.0.1:8799 --database-url postgres://.../hat_clinic_scale \\
        --username scale.commissioner --password scale-password-1234 [--requests 100]

or serving it here as `make bench` does (gunicorn, two workers, DEBUG off, no Redis), the statistics rows
alone (the scale database's benchmark clinics are refreshed first, as `make bench` does):

    python -m bench.stats --serve --database-url postgres://.../hat_clinic_scale [--requests 100]
"""

import argparse
import itertools
import json
import random
import sys
import time
from datetime import date, timedelta

import psycopg
import requests as http

from .report import Durations, summarise

YEARS = 5
FIRST_VIEW_MS, CACHED_MS, SPEEDUP = 150.0, 40.0, 10  # issue 15

NAIVE_SQL = """
    SELECT date_trunc('month', date)::date AS month,
           count(*) FILTER (WHERE status IN ('given', 'partial')) AS given,
           count(*) FILTER (WHERE status <> 'cancelled') AS scheduled
    FROM dosing_slot
    WHERE date BETWEEN %(start)s AND %(end)s
    GROUP BY 1 ORDER BY 1
"""
SUMMARY_SQL = """
    SELECT date_trunc('month', date)::date AS month,
           sum(given + partial) AS given,
           sum(slots - cancelled) AS scheduled
    FROM reports_dailysessionstats
    WHERE date BETWEEN %(start)s AND %(end)s
    GROUP BY 1 ORDER BY 1
"""


def five_years(today: date | None = None) -> dict:
    today = today or date.today()  # noqa: DTZ011 (the server's clinics are in the same zone as the bench machine)
    return {"start": (today - timedelta(days=365 * YEARS)).isoformat(), "end": today.isoformat()}


def sign_in(base: str, username: str, password: str) -> http.Session:
    """A `requests.Session` signed in through the real login form (staff 2FA off for the bench)."""
    session = http.Session()
    session.get(f"{base}/accounts/login/", timeout=10).raise_for_status()
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=10,
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {username} failed with {response.status_code}")
    return session


def _session(signed_in) -> http.Session:
    return getattr(signed_in, "http", signed_in)  # a bench.client.Staff or a requests.Session


def _timed(requests: int, warmup: int, call) -> Durations:
    durations = Durations()
    for index in range(warmup + requests):
        started = time.perf_counter()
        response = call(index)
        elapsed = (time.perf_counter() - started) * 1000
        if index >= warmup:
            durations.record(elapsed, response)
    return durations


# Cold requests move the 5-year window back one day more each time (from a random day under 100), so that
# no two ask for the same report (the page and the API do not share one) while the data scanned stays
# about the same: after 200 cold requests the window is at most ~300 days earlier, still 5 years long.
_COLD_DAYS = itertools.count(random.randrange(0, 100))  # noqa: S311 (not security)


def _get(session: http.Session, url: str, params: dict, expect_in_body: str, *, cold: bool = False):
    """A request; `cold`: different filters each time, so the server's report cache never has them."""

    def call(index):
        query = dict(params)
        if cold:
            shift = next(_COLD_DAYS)
            query["start"] = (date.fromisoformat(params["start"]) - timedelta(days=shift)).isoformat()
            query["end"] = (date.fromisoformat(params["end"]) - timedelta(days=shift)).isoformat()
        response = session.get(url, params=query, timeout=30)
        if response.status_code != 200 or expect_in_body not in response.text:
            raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text[:300]}")
        return response

    return call


def dashboard(base: str, signed_in, *, requests=100, warmup=10, params: dict | None = None, cold: bool = False):
    """The whole dashboard page (HTML, charts and tables) for all the commissioner's clinics, by month, 5 years.

    Warm (default): the same filters each time, as a commissioner reloading the page; the server answers
    from its report cache while no record changed. Cold: every request computes the report afresh.
    """
    params = {**five_years(), "granularity": "month", "clinic": "all", **(params or {})}
    call = _get(_session(signed_in), f"{base}/reports/", params, "Headline figures", cold=cold)
    return _timed(requests, 0 if cold else warmup, call)


def dashboard_api(base: str, signed_in, *, requests=100, warmup=10, params: dict | None = None, cold: bool = False):
    """GET /api/v1/stats/ with the same filters (JSON)."""
    params = {**five_years(), "granularity": "month", **(params or {})}
    call = _get(_session(signed_in), f"{base}/api/v1/stats/", params, '"dosing"', cold=cold)
    return _timed(requests, 0 if cold else warmup, call)


def _query(database_url: str, sql: str, *, requests: int, warmup: int) -> list[float]:
    params = five_years()
    with psycopg.connect(database_url, autocommit=True) as connection:

        def call(_index):
            connection.execute(sql, params).fetchall()

        return _timed(requests, warmup, call)


def naive_attendance_by_month(database_url: str, *, requests: int = 10, warmup: int = 1) -> list[float]:
    """The naive baseline: attendance rate per month over 5 years, all clinics, from the raw slots."""
    return _query(database_url, NAIVE_SQL, requests=requests, warmup=warmup)


def summary_attendance_by_month(database_url: str, *, requests: int = 50, warmup: int = 5) -> list[float]:
    """The same figure from the summary table (what the dashboard reads), for reference."""
    return _query(database_url, SUMMARY_SQL, requests=requests, warmup=warmup)


def headline_figures(database_url: str) -> tuple[list, list]:
    """(naive rows, summary rows): they must be equal, or the summary tables are stale."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        naive = connection.execute(NAIVE_SQL, five_years()).fetchall()
        summary = connection.execute(SUMMARY_SQL, five_years()).fetchall()
    return [tuple(map(str, row)) for row in naive], [tuple(map(str, row)) for row in summary]


def run(base: str, database_url: str, username: str, password: str, *, requests: int = 100) -> dict:
    naive, summary = headline_figures(database_url)
    if naive != summary:
        raise RuntimeError("the summary table disagrees with the raw slots: refresh the summaries first")
    session = sign_in(base, username, password)
    results = {
        "stats.dashboard_cold": summarise(dashboard(base, session, requests=requests, cold=True), FIRST_VIEW_MS),
        "stats.dashboard": summarise(dashboard(base, session, requests=requests), CACHED_MS),
        "stats.dashboard_api_cold": summarise(
            dashboard_api(base, session, requests=requests, cold=True), FIRST_VIEW_MS
        ),
        "stats.dashboard_api": summarise(dashboard_api(base, session, requests=requests), CACHED_MS),
        "stats.naive_sql": summarise(naive_attendance_by_month(database_url, requests=max(5, requests // 10))),
        "stats.summary_sql": summarise(summary_attendance_by_month(database_url, requests=requests)),
    }
    naive = results["stats.naive_sql"]["p50_ms"]
    cold_ratio = round(naive / results["stats.dashboard_cold"]["p95_ms"], 1)
    results["stats.speedup"] = {
        "naive_p50_over_dashboard_p95": round(naive / results["stats.dashboard"]["p95_ms"], 1),
        "naive_p50_over_cold_dashboard_p95": cold_ratio,
        "target": SPEEDUP,
        "verdict": "met" if cold_ratio >= SPEEDUP else "missed",
    }
    return results


def _served(args) -> dict:
    """run() against gunicorn serving `args.database_url` with the benchmark's server settings."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hat_clinic.settings")
    from .server import SECRET_KEY, gunicorn

    os.environ.update(DATABASE_URL=args.database_url, SECRET_KEY=SECRET_KEY, CELERY_TASK_ALWAYS_EAGER="1")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from . import data, database

    database.check_scale_database()
    database.migrate()
    data.refresh_bench_summaries()  # earlier runs' benchmark clinics: the check against the raw slots needs them
    with gunicorn(args.database_url, workers=args.workers) as base:
        print(f"bench.stats: gunicorn at {base} on {database.name_of(args.database_url)}", flush=True)
        return run(base, args.database_url, args.username, args.password, requests=args.requests)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stats", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="a running server (else --serve)")
    parser.add_argument("--serve", action="store_true", help="serve the database with gunicorn as `make bench` does")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers with --serve (default 2)")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--username", default="scale.commissioner")
    parser.add_argument("--password", default="scale-password-1234")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args(argv)
    if args.serve:
        results = _served(args)
    elif args.base:
        results = run(args.base, args.database_url, args.username, args.password, requests=args.requests)
    else:
        parser.error("give --base (a running server) or --serve")
    print(f"{'measurement':<22} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'target':>8}")
    for name, row in results.items():
        if "p50_ms" in row:
            target = f"{row['target_p95_ms']:.0f}" if row["target_p95_ms"] else "-"
            print(
                f"{name:<22} {row['requests']:>5} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} {row['max_ms']:>8.1f} "
                f"{target:>8}"
            )
    speed = results["stats.speedup"]
    print(
        f"naive SQL p50 / dashboard p95 = {speed['naive_p50_over_dashboard_p95']}x warm, "
        f"{speed['naive_p50_over_cold_dashboard_p95']}x cold (target >= {SPEEDUP}x: {speed['verdict']})"
    )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
