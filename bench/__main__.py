"""`python -m bench` (or `make bench`): measure over real HTTP against gunicorn, with the scale data loaded.

    python -m bench [--patients 150] [--referrals 200] [--requests 300] [--warmup 20] [--only NAME] [--fresh]
                    [--load] [--boards] [--boards-count 300] [--boards-duration 60]

The database: the scale database (BENCH_SCALE_DATABASE_URL, default .../hat_clinic_scale, loaded
by `manage.py seed_scale`) when it exists, so that the dosing tables hold millions of rows; else
the benchmark's own (BENCH_DATABASE_URL, else DATABASE_URL, else .../hat_clinic_bench: created
when missing, `--fresh` drops it first), and the output says the figures are without the scale
data. Either is migrated, then gets this run's data (bench.data.load: new clinics, staff and
partners each run). One gunicorn (DEBUG off, STAFF_2FA_REQUIRED=0) on a free local port serves
every measurement, run one after another after a warm-up: the dosing board and recording a dose,
the partner referral list, then (scale database only, not with --only) the commissioner dashboard
against the naive SQL aggregate. Prints a table (each figure with its database and row counts)
and writes bench-results/bench-<timestamp>.json. Exits 1 if anything could not be measured,
including a measurement, load phase or polling run with no samples (its row says "no samples" and
the last line names it), 0 otherwise (a missed target is reported in the table and the JSON, not as
a failure).

With the scale database, recording a dose measures seed_scale's patients with years of history
(bench.history; PIN and password witness separately) and the database time of such a dose against a
new patient's (bench.dbtime). `--load` adds the concurrent nurses (bench.load: 1, 10, 50 in one
clinic, 10 clinics x 5, the trivial GET, then the database check); `--boards` the 300 polling
boards (bench.polling). Both are off by default to keep the default run short (about 2 minutes more each).
"""

import argparse
import os
import sys
import traceback
from datetime import UTC, datetime

from . import database, dbtime, history, report, suite
from .dosing import MEASUREMENTS as DOSING
from .dosing import NEEDS_HISTORY
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
    parser.add_argument("--load", action="store_true", help="also the concurrent nurses (bench.load)")
    parser.add_argument("--boards", action="store_true", help="also the polling boards (bench.polling)")
    parser.add_argument("--boards-count", type=int, default=300, help="simulated boards (default 300)")
    parser.add_argument("--boards-duration", type=float, default=60.0, help="seconds of polling (default 60)")
    parser.add_argument(
        "--load-per-clinic", type=int, default=90, help="doses per scale clinic in the 10-clinic phase (default 90)"
    )
    parser.add_argument(
        "--scale-database-url",
        default=os.environ.get("BENCH_SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hat_clinic_scale"),
        help="database loaded by `manage.py seed_scale` (used when it exists; '' never uses one)",
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hat_clinic.settings")
    from .server import SECRET_KEY

    os.environ["SECRET_KEY"] = SECRET_KEY  # the server's: sessions are written here for it
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
        if not scale:
            for skipped in NEEDS_HISTORY & set(chosen):
                print(f"bench: {skipped} skipped: it doses seed_scale's patients (no scale database)", flush=True)
                chosen.pop(skipped)
        # dbtime takes twice what it doses: it keeps the patients prescribed 100 mg or more (bench.dbtime)
        history_doses = 2 * DB_TIME_DOSES if scale and "dosing.record_dose" in chosen else 0
        doses_needed = args.requests + args.warmup + DB_TIME_DOSES
        print(f"bench: loading {args.patients} patients (+{doses_needed} ready to dose), a partner with "
              f"{args.referrals} referrals, into {name}", flush=True)  # fmt: skip
        sites = data.load(patients=args.patients, doses=doses_needed, referrals=args.referrals, stamp=stamp)
        now = datetime.now(UTC)
        if scale:
            history_doses += sum(_history_doses(m, args) for m in chosen)
            per_clinic = -(-history_doses // 10) + 2 + (args.load_per_clinic if args.load else 0)
            print(f"bench: readying up to {per_clinic} patients with years of history in each scale clinic", flush=True)
            sites["history"] = history.prepare(per_clinic=per_clinic, nurses_per_clinic=5, stamp=stamp, now=now)
            print(f"bench: {sites['history'].ready()} patients with history ready to dose", flush=True)
            if not sites["history"].ready():
                print("bench: WARNING: no patient with history can be dosed: the dose measurements will have no "
                      "samples. Their last doses must be 3 h to 2 days old (re-seed scale data older than 2 days; "
                      "wait 3 h after a run) and their prescriber needs a licence for the clinic (S14: seed_scale "
                      "records one)", file=sys.stderr, flush=True)  # fmt: skip
        if args.load:
            print(f"bench: loading the Load clinic ({sum(suite.load_doses(args.requests).values())} patients)",
                  flush=True)  # fmt: skip
            sites["load"] = suite.prepare_load(stamp=stamp, now=now, requests=args.requests)
        results, comparisons, extra = {}, {}, {}
        load_before = os.getloadavg()
        with gunicorn(url, workers=args.workers) as base:
            print(f"bench: gunicorn at {base} on {name}, {args.workers} workers, DEBUG off", flush=True)
            for measurement, (measure, target, source) in chosen.items():
                rows = database.row_counts(url)
                print(f"bench: {measurement} ...", flush=True)
                durations = measure(base, sites, requests=args.requests, warmup=args.warmup)
                results[measurement] = _where(report.summarise(durations, target), source, name, rows)
                results[measurement]["load_average"] = round(os.getloadavg()[0], 2)
            if history_doses and "history" in sites:
                print("bench: database time of a dose, history against new patients (in this process) ...")
                comparisons["dosing.dose_db_time"] = dbtime.run(sites, doses=DB_TIME_DOSES)
            if args.load:
                extra["load"], extra["load_check"] = suite.run_load(
                    base, sites, requests=args.requests, per_clinic=args.load_per_clinic
                )
                extra["load_average_after_load"] = round(os.getloadavg()[0], 2)
            if args.boards:
                extra["boards"] = suite.run_boards(base, sites, boards=args.boards_count, duration=args.boards_duration)
                extra["load_average_after_boards"] = round(os.getloadavg()[0], 2)
            if "history" in sites:
                history.refresh(sites["history"], now)
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
        target = speedup["target"]
        print(f"\nnaive SQL p50 / dashboard p95: {warm}x warm ({_verdict(warm >= target)}), {cold}x first view "
              f"({_verdict(cold >= target)}) (target >= {target}x)")  # fmt: skip
    if db := comparisons.get("dosing.dose_db_time"):
        print(f"\ndatabase time of a dose (in process): history p50 {db['history']['db_p50_ms']} ms "
              f"(p95 {db['history']['db_p95_ms']}, {db['history']['queries']} queries), new patient p50 "
              f"{db['new']['db_p50_ms']} ms (p95 {db['new']['db_p95_ms']}, {db['new']['queries']} queries): "
              f"{db['ratio_p50']}x (target <= {db['target']}x): {_verdict(db['met'])}")  # fmt: skip
    if extra.get("load"):
        print("\n" + report.load_table(extra["load"]))
        check = extra["load_check"]
        print(f"database after the load: {check['slots_dosed']} slots dosed, {check['slots_refused']} refused, "
              f"{check['slots_unanswered']} unanswered ({check['slots_unanswered_dosed']} of them dosed); "
              f"one administration per slot: {check['one_administration_per_slot']}; "
              f"{check['registers_checked']} registers, balances exact: {check['balances_exact']}; "
              f"register lines match the doses: {check['register_lines_match_doses']}")  # fmt: skip
    if boards := extra.get("boards"):
        print(f"\nboards: {boards['boards']} polling every {boards['interval_s']:.0f} s for "
              f"{boards['duration_s']:.0f} s, {boards['polls']} polls ({boards['not_modified']} answered 304), "
              f"{boards['errors']} errors, "
              f"{boards['doses']} doses meanwhile; client p50 {boards['p50_ms']} p95 {boards['p95_ms']} p99 "
              f"{boards['p99_ms']} ms, server p95 {boards['server_p95_ms']} ms; every change seen within one poll: "
              f"{boards['changes_seen_within_one_poll']}; target client p95 <= 100 ms, 0 errors: "
              f"{report.NO_SAMPLES.upper() if boards.get('error') else _verdict(boards['met'])}")  # fmt: skip
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
        comparisons={**comparisons, **extra},
    )  # fmt: skip
    print(f"\nbench: results written to {path.relative_to(path.parent.parent)}")
    boards_row = {"boards": extra["boards"]} if "boards" in extra else {}
    if empty := report.unmeasured(results, extra.get("load", {}), boards_row):
        print(f"bench: FAILED: no samples for {', '.join(empty)} (nothing was measured; see the lines above)",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


# Doses of each kind bench.dbtime times: 20 gave p50s whose ratio moved from 1.1x to 1.21x between two runs of the
# same code; 50 read 1.1x and 1.09x.
DB_TIME_DOSES = 50


def _verdict(met) -> str:
    return {True: "met", False: "MISSED", None: "-"}[met]


def _history_doses(measurement: str, args) -> int:
    """Patients with history a measurement doses (bench.dosing)."""
    if measurement == "dosing.record_dose":
        return args.requests + args.warmup
    if measurement == "dosing.record_dose_password":
        return max(1, args.requests // 6) + min(args.warmup, 3)
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
    return {name: _where(result, "issue 15", database.name_of(url), rows) for name, result in measured.items()}, speedup


if __name__ == "__main__":
    sys.exit(main())
