"""Backups you can restore (issue 13.4): `backup` writes a dump, `restore_drill` restores it into a fresh
database and checks running balances, each dose's register lines and the append-only triggers."""

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from cd_register.models import RegisterEntry
from dosing import services
from dosing.models import Administration, Route
from tests.celery_worker import _test_database_url
from tests.dosing.conftest import AFTERNOON, check_and_dose
from tests.factories.clinics import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump reads only committed rows
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def doses(slot, afternoon_slot, nurse, second_nurse):
    """Two doses, one with a part-used ampoule, and a correction of the other; with their register lines."""
    first = check_and_dose(slot, nurse, second_nurse, dose_mg=Decimal("90"))
    second = check_and_dose(afternoon_slot, nurse, second_nurse, now=AFTERNOON)
    correction = services.correct_administration(
        administration=second,
        author=nurse,
        reason="Recorded the wrong amount",
        dose_mg=Decimal("80"),
        route=Route.INTRAVENOUS,
        injection_site="left_arm",
        given_at=second.given_at,
        witness=second_nurse,
        witness_password=PASSWORD,
        now=AFTERNOON + dt.timedelta(minutes=30),
    )
    assert Administration.objects.count() == 3
    assert RegisterEntry.objects.filter(administration_ref=correction.pk).exists()  # the waste it adds
    return first, second


def drill(tmp_path) -> subprocess.CompletedProcess:
    """`manage.py backup`, then `manage.py restore_drill` in its own process, as an operator runs them."""
    dump = tmp_path / "hat.dump"
    call_command("backup", output=str(dump))
    assert dump.stat().st_size > 0
    assert not (tmp_path / "hat.dump.partial").exists()
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    return subprocess.run(
        [sys.executable, "manage.py", "restore_drill", str(dump)], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_the_drill_restores_a_backup_with_doses_corrections_and_register_entries(doses, tmp_path):
    result = drill(tmp_path)
    output = result.stdout

    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   append-only triggers" in output
    assert "ok   register running balances" in output
    assert "ok   administrations and their register lines" in output
    assert "The restored copy is whole." in output
    assert "kept as" not in output  # the drill database is dropped afterwards


def _as_owner_bypassing_the_trigger(table: str, trigger: str, statement: str, params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        cursor.execute(statement, params)
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


def test_the_drill_fails_on_a_copy_with_a_wrong_balance_a_wrong_dose_and_a_missing_trigger(doses, tmp_path):
    first, _ = doses
    entry = RegisterEntry.objects.filter(administration_ref=first.pk).order_by("pk").first()
    _as_owner_bypassing_the_trigger(
        "cd_register_registerentry",
        "cd_register_registerentry_append_only",
        "UPDATE cd_register_registerentry SET balance_after = balance_after + 1 WHERE id = %s",
        [entry.pk],
    )
    _as_owner_bypassing_the_trigger(
        "dosing_administration",
        "dosing_administration_append_only",
        "UPDATE dosing_administration SET dose_mg = 120 WHERE id = %s",
        [first.pk],
    )
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE dosing_adverseevent DISABLE TRIGGER dosing_adverseevent_append_only")
    try:
        result = drill(tmp_path)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE dosing_adverseevent ENABLE TRIGGER dosing_adverseevent_append_only")
    output = result.stdout

    assert result.returncode == 1
    assert "The restored copy is not whole: 3 check(s) failed." in result.stderr
    assert "FAIL append-only triggers" in output
    assert "dosing_adverseevent.dosing_adverseevent_append_only" in output
    assert f"register {entry.register_id}: entry {entry.sequence} says balance" in output
    assert (
        f"administration {first.pk} (slot {first.slot_id}): dose 120.00 mg, its register lines account for 90.00 mg"
    ) in output
