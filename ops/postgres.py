"""Running PostgreSQL's own tools (pg_dump, pg_restore) with the connection Django is configured with."""

import os
import shutil
import subprocess

from django.core.management.base import CommandError
from django.db import connections


def libpq_environment(using: str = "default", *, dbname: str | None = None) -> dict[str, str]:
    """The environment for a PostgreSQL tool: the database's host, port, user and password as PG* variables."""
    db = connections[using].settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise CommandError("Backups and the restore drill need PostgreSQL (DATABASE_URL=postgres://...).")
    env = {**os.environ, "PGDATABASE": dbname or db["NAME"]}
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD")):
        if db.get(key):
            env[variable] = str(db[key])
    return env


def run_tool(name: str, arguments: list[str], *, env: dict[str, str]) -> None:
    executable = shutil.which(name)
    if executable is None:
        raise CommandError(f"{name} was not found: install the PostgreSQL client tools of the server's version.")
    result = subprocess.run([executable, *arguments], env=env, capture_output=True, text=True)  # noqa: S603
    if result.returncode != 0:
        raise CommandError(f"{name} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
