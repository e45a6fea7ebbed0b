"""The databases the benchmark serves: seed_scale's when it exists, else its own; never the test or dev database."""

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/hat_clinic_bench"
COUNTED_TABLES = ("dosing_slot", "dosing_administration")


def database_url() -> str:
    """BENCH_DATABASE_URL, else DATABASE_URL if it names a benchmark database, else the default.

    The benchmark adds clinics and (append-only) doses on every run: it never touches a
    database whose name does not say it is for benchmarks.
    """
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_URL
    if "bench" not in urlsplit(url).path:
        raise SystemExit(
            f"bench: {urlsplit(url).path.lstrip('/')!r} does not look like a benchmark database; "
            "set BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/hat_clinic_bench)"
        )
    return url


def ensure_database(url: str, *, fresh: bool = False) -> None:
    """CREATE DATABASE when it does not exist (DROP it first with `fresh`), via the server's `postgres` db."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"bench: refusing to use the database {name!r}; give a dedicated one")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            connection.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def exists(url: str) -> bool:
    """True when the database of this URL exists on its server."""
    parts = urlsplit(url)
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [parts.path.lstrip("/")])
        return found.fetchone() is not None


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def name_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def check_scale_database() -> None:
    """Refuse to add benchmark clinics to a database that is not seed_scale's (call after django.setup()).

    The benchmark writes into the scale database (its clinics, doses that can never be deleted):
    it must hold seed_scale's clinics and nothing but those and earlier runs' benchmark clinics.
    Only the clinic codes are read, so this works before the database is migrated.
    """
    from django.db import connection

    from reports.management.commands.seed_scale import CODE_PREFIX

    from .data import BENCH_CODE_PREFIX

    with connection.cursor() as cursor:
        cursor.execute("SELECT code FROM clinics_clinic")
        codes = [code for (code,) in cursor.fetchall()]
    others = [code for code in codes if not code.startswith((CODE_PREFIX, BENCH_CODE_PREFIX))]
    if others or not any(code.startswith(CODE_PREFIX) for code in codes):
        what = f"clinics that are not seed_scale's ({', '.join(sorted(others)[:5])})" if others else "no scale data"
        raise SystemExit(
            f"bench: {connection.settings_dict['NAME']!r} holds {what}: refusing to add benchmark data to it. "
            "Point BENCH_SCALE_DATABASE_URL at a database loaded by `manage.py seed_scale`."
        )


def row_counts(url: str) -> dict[str, int]:
    """Exact row counts of the big dosing tables now: how much data a figure was measured with."""
    with psycopg.connect(url, autocommit=True) as connection:
        return {
            table: connection.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
            for table in COUNTED_TABLES
        }
