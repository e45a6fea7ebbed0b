"""Each pytest-xdist worker gets its own Redis database and Celery queue, and its test database is a copy of
one migrated template (loaded with `-p tests.parallel` in pyproject.toml; `make test` runs `-n 2`).

pytest-django gives each worker its own test database (test_<name>_gw0, _gw1, ...). Redis and the
Celery queue come from the environment, which the settings read once at import: tests call cache.clear()
(FLUSHDB) and the real-worker tests purge and consume their queue, so two workers sharing either would
delete each other's keys and steal each other's tasks. Worker gwN therefore runs with
REDIS_URL's database + N and CELERY_QUEUE + "_gwN". Subprocesses the tests start (Celery workers,
gunicorn, schemathesis) inherit that environment.

This has to happen after pytest-env has set its defaults and before pytest-django imports the settings:
both do their work in `pytest_load_initial_conftests`, pytest-env as `tryfirst` and pytest-django as a
plain hook. A `-p` plugin is registered before those entry-point plugins, so among the `tryfirst` hooks
it is called after pytest-env's (pluggy calls the last registered first), and before pytest-django's.
A conftest would be too late: conftests load after the settings. Outside xdist nothing changes.
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent

# redis-server's default `databases 16`: database numbers 0-15.
REDIS_DATABASES = 16


def worker_index(worker_id: str) -> int:
    """'gw3' -> 3."""
    return int(worker_id.removeprefix("gw"))


def redis_url_for_worker(url: str, index: int) -> str:
    """The same server, database number + index: redis://host:6379/14 -> redis://host:6379/15 for gw1."""
    parts = urlsplit(url)
    base = int(parts.path.lstrip("/") or 0)
    database = base + index
    if database >= REDIS_DATABASES:
        raise pytest.UsageError(
            f"REDIS_URL={url!r}: xdist worker gw{index} would use Redis database {database}, "
            f"but Redis has only 0-{REDIS_DATABASES - 1}. Use fewer workers (-n) or a lower database number."
        )
    return parts._replace(path=f"/{database}").geturl()


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config):
    worker_id = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker_id:
        return
    index = worker_index(worker_id)
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = redis_url_for_worker(os.environ["REDIS_URL"], index)
    os.environ["CELERY_QUEUE"] = f"{os.environ.get('CELERY_QUEUE', 'hat_clinic')}_{worker_id}"


# --- One migrated template database, cloned for each worker -------------------------------------------
# Migrating a test database takes minutes on the shared 2-core machine: N workers migrating at once
# did the same work N times and ran past the first test's 120 s timeout. So the controller migrates one
# template before it starts the workers (no test and no timeout runs there), and each worker copies it
# with CREATE DATABASE ... TEMPLATE (seconds) into its own test_<name>_gwN, which pytest-django then
# uses as an existing database (tests/conftest.py: django_db_keepdb).

TEMPLATE_ENV = "HAT_TEST_TEMPLATE_DATABASE"


def _database_url(name: str) -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{name}"


def _maintenance_connection():
    import psycopg

    return psycopg.connect(_database_url("postgres"), autocommit=True)


def _test_database_name() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return db.get("TEST", {}).get("NAME") or f"test_{db['NAME']}"


def _runs_workers(config) -> bool:
    return getattr(config.option, "numprocesses", None) not in (None, 0) and not hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)  # before xdist's own (trylast) pytest_sessionstart starts the workers
def pytest_sessionstart(session):
    config = session.config
    if not _runs_workers(config) or config.getoption("nomigrations", False):
        return
    from django.conf import settings
    from psycopg import sql

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return  # tests/conftest.py stops the run with a message naming DATABASE_URL
    template = f"{_test_database_name()}_template"
    reuse = config.getoption("reuse_db", False) and not config.getoption("create_db", False)
    with _maintenance_connection() as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone()
        if exists and not reuse:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(template)))
        if not exists or not reuse:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(template)))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": _database_url(template)},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise pytest.UsageError(f"migrating the template test database {template} failed:\n{result.stderr[-4000:]}")
    config.get_terminal_writer().line(f"migrated {template} for the workers in {time.monotonic() - started:.0f} s")
    os.environ[TEMPLATE_ENV] = template  # the workers inherit the environment


def clone_template_for_this_worker() -> bool:
    """In a worker: (re)create this worker's test database as a copy of the template. False when there is none."""
    template = os.environ.get(TEMPLATE_ENV)
    if not template or not os.environ.get("PYTEST_XDIST_WORKER"):
        return False
    from psycopg import sql

    name = _test_database_name()  # pytest-django has added the _gwN suffix by now
    with _maintenance_connection() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    return True
