"""The quick start's embedded database (SQLite, `make run` without DATABASE_URL) migrates from nothing, and its
board versions still move with every change (dosing/sqlite_board_triggers.py).

A board trigger that reads another table broke SQLite's way of changing that table: `migrate` stopped at
patients 0005 ("error in trigger dosing_hold_board_insert: no such table: main.patients_patient"), so the
first of the README's two commands failed on a fresh machine while every PostgreSQL test passed.
"""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

BUMPS = """
from clinics.services import clinic_upsert
from dosing.models import BoardVersion
clinic = clinic_upsert(code="qs", name="Quick start")
first = BoardVersion.objects.get(clinic_id=clinic.pk).version
clinic_upsert(code="qs", name="Quick start clinic")
print("versions", first, BoardVersion.objects.get(clinic_id=clinic.pk).version)
"""


def manage(*args, database: Path) -> subprocess.CompletedProcess:
    clean = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env = {**clean, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def board_triggers(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_board_%'")
        return {name for (name,) in rows}


@pytest.mark.timeout(900)
def test_a_fresh_sqlite_database_migrates_and_every_change_still_moves_the_board(tmp_path):
    database = tmp_path / "db.sqlite3"

    migrated = manage("migrate", "--noinput", "-v", "0", database=database)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    triggers = board_triggers(database)
    assert {"patients_patient_board_update", "dosing_hold_board_insert", "dosing_slot_board_delete"} <= triggers
    assert len(triggers) == 3 * 13  # insert, update and delete of each of the board's 13 tables

    again = manage("migrate", "--noinput", "-v", "0", database=database)  # `make run` migrates on every start
    assert again.returncode == 0, again.stderr[-2000:]
    assert board_triggers(database) == triggers

    bumped = manage("shell", "-c", BUMPS, database=database)
    assert bumped.returncode == 0, bumped.stderr[-2000:]
    line = next(line for line in bumped.stdout.splitlines() if line.startswith("versions "))
    first, second = map(int, line.split()[1:])
    assert second > first
