"""An unchanged board poll (304) in-process: where its server time goes, without gunicorn or HTTP.

    DATABASE_URL=postgres://.../<a migrated database> python -m bench.poll_profile \
        [--api] [--changed | --shared] [-n 500] [--profile]

The settings of the benchmark's server (bench.server: DEBUG off, STAFF_2FA_REQUIRED=0, no Redis), a new
150-patient clinic from bench.data with its nurse signed in as the benchmark signs in, then `n` polls of
/dosing/board/rows/ (or /api/v1/dosing/board/ with --api) with the ETag of the first answer, each through
Django's whole handler (the test client). Prints the queries of one poll and, per poll, the
`Server-Timing` the middleware measured (what `make bench` reports), the part of it spent waiting for
PostgreSQL and the process CPU time; --profile adds cProfile's top functions over another `n` polls.
With --changed each measured poll finds a board changed since its copy (the clinic's version is moved
first, untimed, as any dose would move it): the poll that renders, the cost of every tablet after a dose.
With --shared it finds the board changed since its copy but already rendered at this version for another
tablet of the clinic (dosing/board_cache.py): what the other tablets of the clinic pay after a dose.
For finding costs and comparing two versions of the code on the same machine; the speed targets are
measured by `make bench`, over HTTP.
"""

import argparse
import statistics
import sys
import time

from .inprocess import configure, print_profile
from .inprocess import percentile as _percentile


def _configure() -> None:
    configure("Set DATABASE_URL to a migrated PostgreSQL database (bench data is added to it).")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.poll_profile")
    parser.add_argument("--api", action="store_true", help="poll the board API instead of the HTML fragment")
    parser.add_argument("-n", type=int, default=500, help="polls measured (after 50 to warm up)")
    parser.add_argument("--profile", action="store_true", help="cProfile another n polls")
    parser.add_argument("--changed", action="store_true", help="every poll finds a new version: a render")
    parser.add_argument("--shared", action="store_true", help="every poll finds a new copy already rendered")
    args = parser.parse_args(argv)
    _configure()
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from . import data
    from .client import Staff

    stamp = timezone.now().strftime("%y%m%d%H%M%S")
    site = data.clinic_with_patients(name="Board", stamp=stamp, patients=150, now=timezone.now(), mixed_board=True)
    client = Client()
    client.cookies["sessionid"] = Staff.session_of("http://testserver", site.nurse).http.cookies["sessionid"]
    path = "/api/v1/dosing/board/" if args.api else "/dosing/board/rows/"
    first = client.get(path)
    if first.status_code != 200:
        sys.exit(f"{path} answered {first.status_code}")
    headers = {"If-None-Match": first["ETag"]}
    expected = 304

    def moved() -> None:
        """A new version of the clinic's board, as a committed change would give (nothing else is changed)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE dosing_boardversion SET version = nextval('dosing_board_version_seq') WHERE clinic_id = %s",
                [site.clinic.pk],
            )

    if args.changed or args.shared:
        headers, expected = {"If-None-Match": '"board.stale"'}, 200

    def poll():
        response = client.get(path, headers=headers)
        if response.status_code != expected:
            sys.exit(f"{path} answered {response.status_code}, not {expected}")
        return response

    for _ in range(50):
        if args.changed:
            moved()
        poll()
    if args.changed:
        moved()
    with CaptureQueriesContext(connection) as queries:
        poll()
    print(f"{path}: {len(queries.captured_queries)} queries")
    for query in queries.captured_queries:
        print(f"    {query['sql'][:110]}")

    waited: list[float] = []

    def timing(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            waited[-1] += time.perf_counter() - started

    server, database, cpu = [], [], []
    with connection.execute_wrapper(timing):
        for _ in range(args.n):
            waited.append(0.0)
            if args.changed:
                moved()
                waited[-1] = 0.0  # the move is not the poll's
            started = time.process_time()
            response = poll()
            cpu.append((time.process_time() - started) * 1000)
            server.append(float(response["Server-Timing"].partition("dur=")[2]))
            database.append(waited[-1] * 1000)
    for name, values in (("Server-Timing", server), ("of which PostgreSQL", database), ("process CPU", cpu)):
        print(f"{name:>20}: median {statistics.median(values):5.2f} ms, p95 {_percentile(values, 95):5.2f} ms "
              f"(n={len(values)})")  # fmt: skip
    if args.profile:

        def measured_poll():
            if args.changed:
                moved()
            poll()

        print_profile(measured_poll, args.n, cumulative=50, tottime=25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
