"""PostgreSQL restarting under a running gunicorn (issue 13.3): requests in flight fail with a clear 503 or
are read again, the app recovers by itself, and a dose is never half-recorded nor sent twice.

The "restart" is pg_terminate_backend on the app's connections (what a failover or a restart does to
them); a lock held by the test stops a request in the middle, so the termination lands mid-request.
"""

import threading
import time

import psycopg
import pytest
from django.utils import timezone

from bench import data
from bench.client import Staff
from cd_register.models import Register, RegisterEntry
from dosing.models import Administration, Slot, SlotStatus
from ops.ledgers import check_all
from tests.celery_worker import _test_database_url, wait_for
from tests.servers import gunicorn, production_environment

pytestmark = pytest.mark.django_db(transaction=True)  # gunicorn sees only committed rows

APP = "hat-restart-test"


@pytest.fixture
def site():
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    return data.clinic_with_patients(name="Restart", stamp=stamp, patients=3, now=timezone.now(), mixed_board=False)


@pytest.fixture
def server(tmp_path):
    env = production_environment(database_url=f"{_test_database_url()}?application_name={APP}")
    with gunicorn(env, tmp_path / "gunicorn.log", workers=1) as base:
        yield base


@pytest.fixture
def admin():
    """A superuser connection of the test's own, outside Django: it holds locks and terminates backends."""
    with psycopg.connect(_test_database_url(), autocommit=True) as connection:
        yield connection


# pg_stat_activity lists the whole server: only this test database's backends are ours (another xdist
# worker, or another engineer, may run this file at the same time with the same application_name).
OURS = "application_name = %s AND datname = current_database()"


def app_backends(admin, *, waiting: bool = False) -> list[int]:
    query = f"SELECT pid FROM pg_stat_activity WHERE {OURS}"  # noqa: S608 (a fixed condition)
    if waiting:
        query += " AND wait_event_type = 'Lock'"
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # a transaction sees one snapshot of the statistics
        cursor.execute(query, [APP])
        return [pid for (pid,) in cursor.fetchall()]


def terminate_app_connections(admin) -> int:
    with admin.cursor() as cursor:
        cursor.execute(
            f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE {OURS}",  # noqa: S608
            [APP],
        )
        return cursor.fetchone()[0]


def in_background(call):
    """Run call() in a thread; return a function that waits for and returns its result."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", call()), daemon=True)
    thread.start()

    def outcome():
        thread.join(timeout=30)
        return result["value"]

    return outcome


def stopped_mid_request(admin, lock_sql: str, params, send):
    """Hold a lock, send the request, terminate the app's connections once it waits on the lock, release."""
    with admin.transaction(), admin.cursor() as cursor:
        cursor.execute(lock_sql, params)
        response = in_background(send)
        wait_for(lambda: app_backends(admin, waiting=True), timeout=20)
        assert terminate_app_connections(admin) >= 1
        time.sleep(0.1)
    return response()


def dose(nurse, site, slot_id):
    body = {"dose_mg": "100", "route": "iv", "injection_site": "left_arm", "witness": site.witness.pk}
    return nurse.post_json(f"/api/v1/dosing/slots/{slot_id}/administration/", body | {"witness_password": data.PIN})


def test_connections_dropped_between_requests_are_replaced_without_an_error(server, site, admin):
    nurse = Staff(server, site.nurse.username, data.PASSWORD)
    assert nurse.get("/dosing/board/").status_code == 200
    before = app_backends(admin)

    assert terminate_app_connections(admin) >= 1
    wait_for(lambda: not app_backends(admin), timeout=10)

    assert nurse.get("/dosing/board/").status_code == 200  # CONN_HEALTH_CHECKS: a new connection, no 500
    assert set(app_backends(admin)).isdisjoint(before)


def test_a_read_caught_by_the_restart_is_read_again(server, site, admin):
    nurse = Staff(server, site.nurse.username, data.PASSWORD)
    nurse.get("/dosing/board/")

    response = stopped_mid_request(
        admin, "LOCK TABLE dosing_slot IN ACCESS EXCLUSIVE MODE", [], lambda: nurse.get("/dosing/board/")
    )

    assert response.status_code == 200
    assert 'class="board-row ' in response.text


def test_a_dose_caught_by_the_restart_answers_503_records_nothing_and_succeeds_when_sent_again(server, site, admin):
    nurse = Staff(server, site.nurse.username, data.PASSWORD)
    slot_id = site.slots[0]
    balances = dict(Register.objects.filter(clinic=site.clinic).values_list("pk", "balance"))
    entries = RegisterEntry.objects.count()

    # The dose waits for the register lock after writing its administration row: the restart lands there.
    response = stopped_mid_request(
        admin,
        "SELECT id FROM cd_register_register WHERE clinic_id = %s FOR UPDATE",
        [site.clinic.pk],
        lambda: dose(nurse, site, slot_id),
    )

    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "The database is restarting; nothing was recorded; try again."
    assert not Administration.objects.filter(slot_id=slot_id).exists()
    assert RegisterEntry.objects.count() == entries
    assert dict(Register.objects.filter(clinic=site.clinic).values_list("pk", "balance")) == balances
    assert Slot.objects.get(pk=slot_id).status == SlotStatus.CHECKED

    again = dose(nurse, site, slot_id)  # the same gunicorn, never restarted

    assert again.status_code == 201, again.text
    assert Administration.objects.filter(slot_id=slot_id).count() == 1
    assert check_all() == {name: [] for name in check_all()}


def test_a_page_form_caught_by_the_restart_says_nothing_was_recorded(server, site, admin):
    nurse = Staff(server, site.nurse.username, data.PASSWORD)
    slot = Slot.objects.filter(clinic=site.clinic, status=SlotStatus.CHECKED).first()
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.SCHEDULED, arrived_at=None)

    def arrive():
        return nurse.http.post(
            f"{server}/dosing/slots/{slot.pk}/arrive/",
            data={"csrfmiddlewaretoken": nurse.csrf},
            headers={"Referer": f"{server}/dosing/board/"},
            timeout=30,
            allow_redirects=False,
        )

    response = stopped_mid_request(admin, "SELECT id FROM dosing_slot WHERE id = %s FOR UPDATE", [slot.pk], arrive)

    assert response.status_code == 503
    assert "The database is restarting; nothing was recorded; try again." in response.text
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.SCHEDULED
    assert arrive().status_code == 302  # recovered by itself
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.ARRIVED
