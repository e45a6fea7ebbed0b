"""The commissioner dashboard's first view (nothing cached) in-process: where its server time goes.

    DATABASE_URL=postgres://.../hat_clinic_scale python -m bench.stats_profile [--api | --tables] [-n 40] [--profile]

The settings of the benchmark's server (bench.server: DEBUG off, no Redis), the scale database's
commissioner (`scale.commissioner`, every clinic), and `n` cold GETs of /reports/ (/api/v1/stats/ with
--api, /reports/tables/ with --tables) for all clinics, monthly, over 5 years, each through Django's whole
handler (the test client), the window moved back a day each time as bench.stats does so that the report
cache never has it. Prints the
queries of one view, then per view: the wall time, the part of it spent waiting for PostgreSQL, and each
step of building the report (statistics, disclosure, outcomes, cost estimate, the HTML of the report, the
page around it). --profile adds cProfile's top functions over another `n` views.

Read-only: every connection is opened READ ONLY, and the session is a signed cookie (nothing is written
to sign in), so it can run against the scale database while others use it. For finding costs and comparing
two versions of the code on the same machine; the targets are measured by bench.stats, over HTTP.
"""

import argparse
import gc
import statistics
import sys
import time
from collections import defaultdict
from datetime import date, timedelta

from .inprocess import configure, print_profile
from .inprocess import percentile as _percentile


def _configure() -> None:
    configure("Set DATABASE_URL to the scale database (python manage.py seed_scale).")


# The steps of a first view, as (module, name): each is timed where the caller looks it up.
STEPS = (
    ("reports.cache", "statistics"),
    ("reports.cache", "present"),
    ("reports.cache", "outcomes"),
    ("reports.cache", "present_outcomes"),
    ("reports.cache", "cost_estimate"),
    ("reports.views", "_charts"),
    ("reports.tables", "dashboard_rows"),
    ("reports.tables", "more_rows"),
    ("reports.views", "render_to_string"),
    ("reports.views", "render"),
    ("reports.api", "build_report"),
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stats_profile")
    parser.add_argument("--api", action="store_true", help="GET the statistics API instead of the page")
    parser.add_argument("--tables", action="store_true", help="GET the page of figures by period instead")
    parser.add_argument("-n", type=int, default=40, help="views measured (after 5 to warm up)")
    parser.add_argument("--profile", action="store_true", help="cProfile another n views")
    parser.add_argument("--username", default="scale.commissioner")
    args = parser.parse_args(argv)
    _configure()
    import importlib

    import django
    from django.conf import settings

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.signed_cookies import SessionStore
    from django.db import connection
    from django.db.backends.signals import connection_created
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from .stats import five_years

    def read_only(sender, connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")

    connection_created.connect(read_only)
    connection.close()

    user = get_user_model().objects.get(username=args.username)
    session = SessionStore()
    session.update(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "clinics.backends.StaffBackend",  # as a password sign-in records it
            HASH_SESSION_KEY: user.get_session_auth_hash(),
            "_renewed_at": int(time.time()) + 10**6,  # never renewed: nothing to save
        }
    )
    session.save()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key

    path, expect = ("/reports/", b"Headline figures")
    if args.api:
        path, expect = "/api/v1/stats/", b'"dosing"'
    elif args.tables:
        path, expect = "/reports/tables/", b"Referrals received by source"
    start, end = (date.fromisoformat(day) for day in five_years().values())
    shift = iter(range(10**6))

    def view():
        days = timedelta(days=next(shift))
        params = {"start": start - days, "end": end - days, "granularity": "month", "clinic": "all"}
        response = client.get(path, params)
        if response.status_code != 200 or expect not in response.content:
            sys.exit(f"{path} answered {response.status_code}: {response.content[:300]!r}")
        return response

    spent: dict[str, list[float]] = defaultdict(list)
    waited = [0.0]
    current: list[str] = []

    def timed(name, function):
        def step(*a, **kw):
            current.append(name)
            started = time.perf_counter()
            try:
                return function(*a, **kw)
            finally:
                if spent[name]:  # measuring
                    spent[name][-1] += (time.perf_counter() - started) * 1000
                current.pop()

        return step

    for module_name, name in STEPS:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            setattr(module, name, timed(f"{module_name.split('.')[-1]}.{name}", getattr(module, name)))

    database: dict[str, list[float]] = defaultdict(list)

    def timing(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            waited[0] += elapsed
            if current and database[current[-1]]:
                database[current[-1]][-1] += elapsed

    for _ in range(5):
        view()
    gc.collect()  # as hat_clinic.wsgi does once the views are loaded: start-up's objects out of the collector's sight
    gc.freeze()
    with CaptureQueriesContext(connection) as queries:
        size = len(view().content)
    print(f"{path}: {len(queries.captured_queries)} queries, {size:,} bytes")
    for query in queries.captured_queries:
        print(f"    {query['time']:>6}s  {query['sql'][:100]}")

    collecting = [0.0, 0.0]  # when the running collection started; time spent collecting in this view

    def collection(phase, info):
        if phase == "start":
            collecting[0] = time.perf_counter()
        else:
            collecting[1] += (time.perf_counter() - collecting[0]) * 1000

    gc.callbacks.append(collection)
    wall, db, cpu, collected = [], [], [], []
    with connection.execute_wrapper(timing):
        for _ in range(args.n):
            for key in [f"{m.split('.')[-1]}.{n}" for m, n in STEPS]:
                spent[key].append(0.0)
                database[key].append(0.0)
            waited[0] = collecting[1] = 0.0
            started, started_cpu = time.perf_counter(), time.process_time()
            view()
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            db.append(waited[0])
            collected.append(collecting[1])
    print(f"{'':>28} {'median ms':>10} {'p95 ms':>8} {'of it DB':>9}")
    for name, values in (
        ("whole view (wall)", wall),
        ("process CPU", cpu),
        ("PostgreSQL (wall)", db),
        ("garbage collection", collected),
    ):
        print(f"{name:>28} {statistics.median(values):>10.2f} {_percentile(values, 95):>8.2f}")
    for key, values in spent.items():
        if any(values):
            print(
                f"{key:>28} {statistics.median(values):>10.2f} {_percentile(values, 95):>8.2f} "
                f"{statistics.median(database[key]):>9.2f}"
            )
    if args.profile:
        print_profile(view, args.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
