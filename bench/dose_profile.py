"""A dose through the API in-process: its server CPU against a trivial signed-in GET (issue 13, item 6).

    DATABASE_URL=postgres://.../<a migrated database> python -m bench.dose_profile [-n 300] [--profile] [--statements]

The 10-clinic load phase of `make bench-load` saturates the machine's cores, so its dose throughput
against the trivial GET's (target >= 0.4x) is about the ratio of the CPU each costs: the server process's,
PostgreSQL's and the client's. This measures the server process's and PostgreSQL's shares of both without
HTTP or gunicorn, with the benchmark server's settings (bench.server: DEBUG off, no Redis): a new clinic from
bench.data with `n` checked patients, its nurse signed in as the benchmark signs in, POST /api/v1/dosing/slots/<id>/
administration/ for each (witness PIN), and `n` GETs of /api/v1/me/. Prints the statements of one dose and,
per request, process CPU, time waiting for PostgreSQL, the Server-Timing, PostgreSQL's own CPU and the Python
function calls (a count that other work on the machine does not move); --profile adds cProfile's top functions
of the doses; --statements adds PostgreSQL's own CPU per statement of a dose (log_statement_stats, which needs a
superuser). For comparing two versions of the code on the same machine; the targets are measured by
`make bench-load`, over HTTP.
"""

import argparse
import cProfile
import os
import pstats
import re
import statistics
import sys
import time

from .inprocess import configure
from .inprocess import percentile as _percentile


def _backend_cpu_ms(connection) -> float:
    """CPU time used so far by this connection's PostgreSQL backend (same machine: /proc), in ms."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _statement_cpu(calls, connection) -> None:
    """Each statement's PostgreSQL CPU (user + system, from log_statement_stats sent back as notices), mean over
    the calls of `calls`, in the order one request runs them. COMMIT is not run through execute(): what the
    backend reports after a request's last statement is the commit's."""
    notices: list[str] = []
    connection.ensure_connection()
    raw = connection.connection
    handler = notices.append

    def usage(messages) -> float:
        seconds = 0.0
        for message in messages:
            found = re.search(r"([0-9.]+) s user, ([0-9.]+) s system", message)
            if found:
                seconds += float(found[1]) + float(found[2])
        return seconds * 1000

    raw.add_notice_handler(lambda diagnostic: handler(diagnostic.message_detail or ""))
    with connection.cursor() as cursor:
        cursor.execute("SET log_statement_stats = on")
        cursor.execute("SET client_min_messages = log")
    per_request: list[list[tuple[str, float]]] = []

    def wrapper(execute, sql, params, many, context):
        leftover = usage(notices)  # what came after the previous statement: a COMMIT
        notices.clear()
        if leftover and per_request and per_request[-1]:
            per_request[-1].append(("COMMIT", leftover))
        try:
            return execute(sql, params, many, context)
        finally:
            per_request[-1].append((" ".join(sql.split())[:90], usage(notices)))
            notices.clear()

    with connection.execute_wrapper(wrapper):
        for call in calls:
            per_request.append([])
            call()
            if notices:
                per_request[-1].append(("COMMIT", usage(notices)))
                notices.clear()
    with connection.cursor() as cursor:
        cursor.execute("SET client_min_messages = notice")
        cursor.execute("SET log_statement_stats = off")
    shapes = [tuple(sql for sql, _ in request) for request in per_request]
    common = max(set(shapes), key=shapes.count)
    matching = [request for request, shape in zip(per_request, shapes, strict=True) if shape == common]
    print(f"PostgreSQL CPU per statement of a dose (mean of {len(matching)} doses of {len(per_request)}):")
    total = 0.0
    for index, sql in enumerate(common):
        mean = statistics.mean(request[index][1] for request in matching)
        total += mean
        print(f"    {mean:6.3f} ms  {sql}")
    print(f"    {total:6.3f} ms  in all")


def _timed(requests, connection) -> dict[str, list[float]]:
    """Each call of `requests` (a generator of callables) timed: process CPU, PostgreSQL wait, Server-Timing."""
    waited = [0.0]

    def timing(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            waited[0] += time.perf_counter() - started

    figures = {"process CPU": [], "of which waiting for PostgreSQL": [], "Server-Timing": []}
    with connection.execute_wrapper(timing):
        for call in requests:
            waited[0] = 0.0
            started = time.process_time()
            response = call()
            figures["process CPU"].append((time.process_time() - started) * 1000)
            figures["of which waiting for PostgreSQL"].append(waited[0] * 1000)
            figures["Server-Timing"].append(float(response["Server-Timing"].partition("dur=")[2]))
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dose_profile")
    parser.add_argument("-n", type=int, default=300, help="doses and trivial GETs measured (after 20 of each)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions of the doses")
    parser.add_argument("--statements", action="store_true", help="print PostgreSQL's CPU per statement of a dose")
    args = parser.parse_args(argv)
    configure("Set DATABASE_URL to a migrated PostgreSQL database (bench data is added to it).")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from . import data
    from .client import Staff
    from .data import PIN

    def clinic(name: str, patients: int):
        stamp = timezone.now().strftime("%y%m%d%H%M%S%f")
        site = data.clinic_with_patients(name=name, stamp=stamp, patients=patients, now=timezone.now(),
                                         mixed_board=False)  # fmt: skip
        client = Client()
        client.cookies["sessionid"] = Staff.session_of("http://testserver", site.nurse).http.cookies["sessionid"]
        return site, client

    def doses(site, client):
        body = {"dose_mg": "100", "route": "iv", "injection_site": "left_arm", "witness": site.witness.pk,
                "witness_password": PIN}  # fmt: skip
        for slot in site.slots:

            def dose(slot=slot):
                response = client.post(
                    f"/api/v1/dosing/slots/{slot}/administration/", body, content_type="application/json"
                )
                if response.status_code != 201:
                    sys.exit(f"the dose answered {response.status_code}: {response.content[:300]!r}")
                return response

            yield dose

    def gets(client, count):
        for _ in range(count):
            yield lambda: client.get("/api/v1/me/")

    warm = 20
    site, client = clinic("Profile", args.n + warm + 1)
    calls = doses(site, client)
    for call, _ in zip(calls, range(warm), strict=False):
        call()
    with CaptureQueriesContext(connection) as queries:
        next(calls)()
    print(f"a dose: {len(queries.captured_queries)} statements")
    for query in queries.captured_queries:
        print(f"    {query['sql'][:110]}")
    for call in gets(client, warm):
        call()
    measured, backend = {}, {}
    for kind, requests in (("dose", calls), ("trivial GET", gets(client, args.n))):
        before = _backend_cpu_ms(connection)
        measured[kind] = _timed(requests, connection)
        backend[kind] = (_backend_cpu_ms(connection) - before) / len(measured[kind]["process CPU"])
    for kind, figures in measured.items():
        for name, values in figures.items():
            print(f"{kind:>12} {name:>32}: median {statistics.median(values):5.2f} ms, "
                  f"p95 {_percentile(values, 95):5.2f} ms (n={len(values)})")  # fmt: skip
        print(f"{kind:>12} {'PostgreSQL backend CPU':>32}: mean {backend[kind]:5.2f} ms")
    cpu = {kind: statistics.mean(figures["process CPU"]) + backend[kind] for kind, figures in measured.items()}
    print(f"CPU (process + PostgreSQL, means), trivial GET / dose: {cpu['trivial GET'] / cpu['dose']:.2f}")
    # Python function calls per request: a count that other work on the machine does not move, unlike times.
    other, other_client = clinic("Profiled", args.n)
    profiles = {"dose": (cProfile.Profile(time.process_time), doses(other, other_client)),
                "trivial GET": (cProfile.Profile(time.process_time), gets(other_client, args.n))}  # fmt: skip
    for kind, (profile, calls) in profiles.items():
        profile.enable()
        for call in calls:
            call()
        profile.disable()
        print(f"{kind:>12} Python function calls per request: {pstats.Stats(profile).total_calls / args.n:,.0f}")
    if args.statements:
        third, third_client = clinic("Statements", args.n)
        _statement_cpu(doses(third, third_client), connection)
    if args.profile:
        stats = pstats.Stats(profiles["dose"][0])
        stats.dump_stats(os.environ.get("DOSE_PROFILE_DUMP", "/dev/null"))
        stats.sort_stats("cumulative").print_stats(150)
        stats.sort_stats("tottime").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
