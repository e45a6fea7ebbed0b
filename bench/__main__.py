"""`python -m bench` (or `make bench`): load a 150-patient clinic and measure over real HTTP.

    python -m bench [--patients 150] [--requests 300] [--warmup 20] [--only dosing.record_dose] [--fresh]

Uses BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/hat_clinic_bench
(its own database: created when missing, migrated, `--fresh` drops it first). Starts gunicorn
(DEBUG off, STAFF_2FA_REQUIRED=0) on a free local port, measures each registered measurement
sequentially after a warm-up, prints a table, writes bench-results/dosing-<timestamp>.json and
stops gunicorn. Exits 1 if anything could not be measured, 0 otherwise (a missed target is
reported in the table and the JSON, not as a failure).
"""

import argparse
import os
import sys
import traceback
from datetime import UTC, datetime

from . import database, report
from .dosing import MEASUREMENTS as DOSING

MEASUREMENTS = {**DOSING}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=150, help="patients in the board clinic (default 150)")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per measurement (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, one per core)")
    parser.add_argument("--only", action="append", choices=sorted(MEASUREMENTS), help="run only these")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the benchmark database first")
    parser.add_argument(
        "--scale-database-url",
        default=os.environ.get("BENCH_SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hat_clinic_scale"),
        help="database loaded by `manage.py seed_scale`, for the commissioner statistics (skipped if absent)",
    )
    args = parser.parse_args(argv)

    url = database.database_url()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hat_clinic.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    chosen = {name: MEASUREMENTS[name] for name in (args.only or MEASUREMENTS)}
    try:
        print(f"bench: database {url.rsplit('/', 1)[-1]} (creating and migrating if needed)", flush=True)
        database.ensure_database(url, fresh=args.fresh)
        import django

        django.setup()
        database.migrate()
        from . import data
        from .server import gunicorn

        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        doses_needed = args.requests + args.warmup if "dosing.record_dose" in chosen else 0
        print(f"bench: loading {args.patients} patients (+{doses_needed} ready to dose)", flush=True)
        sites = data.load(patients=args.patients, doses=doses_needed, stamp=stamp)
        results = {}
        load_before = os.getloadavg()
        with gunicorn(url, workers=args.workers) as base:
            print(f"bench: gunicorn at {base}, {args.workers} workers, DEBUG off", flush=True)
            for name, (measure, target) in chosen.items():
                print(f"bench: {name} ...", flush=True)
                durations = measure(base, sites, requests=args.requests, warmup=args.warmup)
                results[name] = report.summarise(durations, target)
        if not args.only:
            results.update(_statistics(args))
    except Exception:
        traceback.print_exc()
        print("bench: could not measure (see above)", file=sys.stderr)
        return 1
    load_after = os.getloadavg()
    print()
    print(report.table(results))
    # Other work on the machine inflates every figure: say how busy it was.
    print(f"\nload average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}, on {os.cpu_count()} CPUs")
    path = report.write(
        results,
        setup={"patients": args.patients, "requests": args.requests, "warmup": args.warmup, "workers": args.workers,
               "database": url.rsplit("/", 1)[-1], "load_average_before": load_before[0],
               "load_average_after": load_after[0], "command": "python -m bench " + " ".join(argv or sys.argv[1:])},
    )  # fmt: skip
    print(f"\nbench: results written to {path.relative_to(path.parent.parent)}")
    return 0


def _statistics(args) -> dict:
    """Commissioner statistics on the seed_scale database: the dashboard against the naive SQL aggregate."""
    from . import stats
    from .server import gunicorn

    if not database.exists(args.scale_database_url):
        print(
            "bench: no scale database: statistics skipped (load it with `DATABASE_URL=<scale url> "
            "python manage.py seed_scale --clinics 10 --patients 150 --years 5`)",
            flush=True,
        )
        return {}
    with gunicorn(args.scale_database_url, workers=args.workers) as base:
        print(f"bench: statistics on {args.scale_database_url.rsplit('/', 1)[-1]} at {base} ...", flush=True)
        measured = stats.run(base, args.scale_database_url, "scale.commissioner", "scale-password-1234",
                             requests=args.requests // 3 or 1)  # fmt: skip
    speedup = measured.pop("stats.speedup")
    print(f"bench: naive SQL p50 / dashboard p95 = {speedup['naive_p50_over_dashboard_p95']}x "
          f"(first view {speedup['naive_p50_over_cold_dashboard_p95']}x; target {speedup['target']}x)")  # fmt: skip
    return measured


if __name__ == "__main__":
    sys.exit(main())
