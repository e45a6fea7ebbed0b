"""Least privilege in the database (issue 11, hole 11): the app serves as a role that cannot change or
empty the append-only ledgers, cannot switch their triggers off and is not a superuser, and still
records doses (and their corrections) through the app.

The test database is made by the suite's superuser; this test creates the serving role itself (a
name of its own, so parallel runs never share one), grants it with `grant_serving_role` as the
deployment does after `migrate`, and drops it afterwards.
"""

import datetime as dt
import os

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from psycopg import errors, sql

from bench import data
from bench.client import Staff
from dosing.models import Administration
from ops.ledgers import APPEND_ONLY, check_all
from tests.celery_worker import _test_database_url
from tests.servers import gunicorn, production_environment

pytestmark = pytest.mark.django_db(transaction=True)

LEDGERS = ["dosing_administration", "cd_register_registerentry", *APPEND_ONLY]


@pytest.fixture
def serving_role():
    role = f"hat_serving_test_{os.getpid()}"
    with psycopg.connect(_test_database_url(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(sql.Identifier(role)))
        try:
            call_command("grant_serving_role", role)
            yield role
        finally:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role])
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def as_role(role: str) -> str:
    url = _test_database_url()
    return url.replace("postgres://" + url.split("://", 1)[1].split("@", 1)[0] + "@", f"postgres://{role}@", 1)


STATEMENTS = [
    "UPDATE {table} SET id = id",
    "DELETE FROM {table}",
    "TRUNCATE {table}",
    "ALTER TABLE {table} DISABLE TRIGGER ALL",
    "ALTER TABLE {table} DISABLE TRIGGER USER",
]


def test_the_serving_role_cannot_change_empty_or_unguard_a_ledger(serving_role):
    allowed = []
    with psycopg.connect(as_role(serving_role), autocommit=True) as connection:
        for table in sorted(set(LEDGERS)):
            for statement in STATEMENTS:
                try:
                    connection.execute(statement.format(table=table))
                except errors.InsufficientPrivilege:
                    continue
                allowed.append(statement.format(table=table))
            # What it may do: read (and append, which the dose test below does through the app).
            connection.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (a fixed table name)

    assert allowed == []


def test_the_serving_role_cannot_switch_triggers_off_for_its_session(serving_role):
    with psycopg.connect(as_role(serving_role), autocommit=True) as connection:
        with pytest.raises(errors.InsufficientPrivilege):
            connection.execute("SET session_replication_role = replica")
        with pytest.raises(errors.InsufficientPrivilege):
            connection.execute("SET LOCAL session_replication_role = replica")
        [(superuser,)] = connection.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchall()
    assert superuser is False


def test_the_grant_command_refuses_a_superuser():
    with pytest.raises(CommandError, match="superuser"):
        call_command("grant_serving_role", "postgres")


def test_a_dose_and_its_correction_are_recorded_through_the_app_serving_as_that_role(serving_role, tmp_path):
    site = data.clinic_with_patients(
        name="Roles", stamp=timezone.now().strftime("%Y%m%d%H%M%S"), patients=2, now=timezone.now(), mixed_board=False
    )
    env = production_environment(database_url=as_role(serving_role))
    with gunicorn(env, tmp_path / "gunicorn.log", workers=1) as base:
        nurse = Staff(base, site.nurse.username, data.PASSWORD)  # sessions and django-axes write as the role
        assert nurse.get("/dosing/board/").status_code == 200
        given = nurse.post_json(
            f"/api/v1/dosing/slots/{site.slots[0]}/administration/",
            {"dose_mg": "100", "route": "iv", "injection_site": "left_arm", "witness": site.witness.pk}
            | {"witness_password": data.PIN},
        )
        assert given.status_code == 201, given.text
        administration = Administration.objects.get(slot_id=site.slots[0])
        corrected = nurse.post_json(
            f"/api/v1/dosing/administrations/{administration.pk}/corrections/",
            {
                "reason": "Recorded the wrong amount",
                "dose_mg": "80",
                "route": "iv",
                "injection_site": "left_arm",
                "given_at": (administration.given_at).isoformat(),
                "witness": site.witness.pk,
                "witness_password": data.PIN,
            },
        )
        assert corrected.status_code == 201, corrected.text

    assert Administration.objects.filter(slot_id=site.slots[0]).count() == 2
    assert check_all() == {name: [] for name in check_all()}
    assert administration.given_at <= timezone.now() + dt.timedelta(minutes=1)
