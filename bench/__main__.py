"""`python -m bench` (or `make bench`): measure over real HTTP against gunicorn, with the scale data loaded.

    python -m bench [--patients 150] [--referrals 200] [--requests 300] [--warmup 20] [--only NAME] [--fresh]

The database: the scale database (BENCH_SCALE_DATABASE_URL, default .../hat_clinic_scale, loaded
by `manage.py seed_scale`) when it exists, so that the dosing tables hold millions of rows; else
the benchmark's own (BENCH_DATABASE_URL, else DATABASE_URL, else .../hat_clinic_bench: created
when missing, `--fresh` drops it first), and the output says the figures are without the scale
data. Either is migrated, then gets this run's data (bench.data.load: new clinics, staff and
partners each run). One gunicorn (DEBUG off, STAFF_2FA_REQUIRED=0) on a free local port serves
every measurement, run one after another after a warm-up: the dosing board and recording a dose,
the partner referral list, then (scale database only, not with --only) the commissioner dashboard
against the naive SQL aggregate. Prints a table (each figure with its database and row counts)
and writes bench-results/bench-<timestamp>.json. Exits 1 if anything could not be measured, 0
otherwise (a missed target is reported in the table and the JSON, not as a failure).
"""

import argparse
import os
import sys
import traceback
from datetime import UTC, datetime

from . import database, report
from .dosing import MEASUREMENTS as DOSING
from .partners import MEASUREMENTS as PARTNERS

MEASUREMENTS = {**DOSING, **PARTNERS}
SEED_SCALE = "python manage.py seed_scale --clinics 10 --patients 150 --years 5"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=150, help="patients in the board clinic (default 150)")
    parser.add_argument(
        "--referrals", type=int, default=200, help="onward referrals the measured partner sees (default 200)"
    )
    parser.add_argument("--requests", type=int, default=300, help="timed requests per measurement (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, one per core)")
    parser.add_argument("--only", action="append", choices=sorted(MEASUREMENTS), help="run only these")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="drop and recreate the benchmark's own database first (never the scale one)",
    )
    parser.add_argument(
        "--scale-database-url",
        default=os.environ.get("BENCH_SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hat_clinic_scale"),
        help="database loaded by `manage.py seed_scale` (used when it exists; '' never uses one)",
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hat_clinic.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    chosen = {name: MEASUREMENTS[name] for name in (args.only or MEASUREMENTS)}
    try:
        url, scale = _database(args)
        name = database.name_of(url)
        os.environ["DATABASE_URL"] = url
        import django

        django.setup()
        if scale:
            database.check_scale_database()
        database.migrate()
        from . import data
        from .server import gunicorn

        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        doses_needed = args.requests + args.warmup if "dosing.record_dose" in chosen else 0
        print(f"bench: loading {args.patients} patients (+{doses_needed} ready to dose), a partner with "
              f"{args.referrals} referrals, into {name}", flush=True)  # fmt: skip
        sites = data.load(patients=args.patients, doses=doses_needed, referrals=args.referrals, stamp=stamp)
        results, comparisons = {}, {}
        load_before = os.getloadavg()
        with gunicorn(url, workers=args.workers) as base:
            print(f"bench: gunicorn at {base} on {name}, {args.workers} workers, DEBUG off", flush=True)
            for measurement, (measure, target, source) in chosen.items():
                rows = database.row_counts(url)
                print(f"bench: {measurement} ...", flush=True)
                durations = measure(base, sites, requests=args.requests, warmup=args.warmup)
                results[measurement] = _where(report.summarise(durations, target), source, name, rows)
            if scale and not args.only:
                statistics, comparisons["stats.speedup"] = _statistics(base, url, args)
                results.update(statistics)
    except Exception:
        traceback.print_exc()
        print("bench: could not measure (see above)", file=sys.stderr)
        return 1
    load_after = os.getloadavg()
    print()
    print(report.table(results))
    if speedup := comparisons.get("stats.speedup"):
        warm, cold = speedup["naive_p50_over_dashboard_p95"], speedup["naive_p50_over_cold_dashboard_p95"]
        print(f"\nnaive SQL p50 / dashboard p95: {warm}x warm, {cold}x first view (target >= {speedup['target']}x)")
    if not scale:
        print(f"\nWITHOUT the scale data: every figure is from {name}, a small database (see above).")
    # Other work on the machine inflates every figure: say how busy it was.
    print(f"\nload average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}, on {os.cpu_count()} CPUs")
    path = report.write(
        results,
        setup={"patients": args.patients, "referrals": args.referrals, "requests": args.requests,
               "warmup": args.warmup, "workers": args.workers, "database": name, "scale_data": scale,
               "load_average_before": load_before[0], "load_average_after": load_after[0],
               "command": "python -m bench " + " ".join(argv or sys.argv[1:])},
        comparisons=comparisons,
    )  # fmt: skip
    print(f"\nbench: results written to {path.relative_to(path.parent.parent)}")
    return 0


def _database(args) -> tuple[str, bool]:
    """(url, True) for the scale database when it exists; else (the benchmark's own database, False)."""
    if args.scale_database_url and database.exists(args.scale_database_url):
        print(f"bench: scale database {database.name_of(args.scale_database_url)} (migrating if needed)", flush=True)
        return args.scale_database_url, True
    url = database.database_url()
    print(
        f"bench: no scale database {database.name_of(args.scale_database_url)!r}: measuring on "
        f"{database.name_of(url)} WITHOUT the scale data, statistics skipped (load it with "
        f"`DATABASE_URL=<scale url> {SEED_SCALE}`)",
        flush=True,
    )
    database.ensure_database(url, fresh=args.fresh)
    return url, False


def _where(result: dict, source: str | None, database_name: str, rows: dict[str, int]) -> dict:
    """A measurement's figures with where its target comes from, its database and the row counts just before it."""
    return {**result, "target_source": source if result["target_p95_ms"] else None, "database": database_name,
            "rows": rows}  # fmt: skip


def _statistics(base: str, url: str, args) -> tuple[dict, dict]:
    """Commissioner statistics on the scale database: (measurements, the dashboard's speed-up over the naive SQL)."""
    from . import data, stats

    # The doses just recorded changed today's figures of the benchmark clinics: no job keeps their
    # summaries during the run, and the statistics check them against the raw slots first.
    data.refresh_bench_summaries()
    rows = database.row_counts(url)
    print(f"bench: statistics on {database.name_of(url)} ...", flush=True)
    measured = stats.run(base, url, "scale.commissioner", "scale-password-1234", requests=args.requests // 3 or 1)
    speedup = measured.pop("stats.speedup")
    return {name: _where(result, "issue 7", database.name_of(url), rows) for name, result in measured.items()}, speedup


if __name__ == "__main__":
    sys.exit(main())
