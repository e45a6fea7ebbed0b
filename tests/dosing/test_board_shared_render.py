"""A changed board is rendered once and shared by the clinic's tablets (issue 13, item 6; dosing/board_cache.py).

Attacks on the sharing: a kept rendering must never reach another clinic's nurse, nor give a
read-only manager the actions (or a nurse none); every change (arrival, dose, hold, alert) shows on
the next poll; the clock alone (an observation ending, the window opening or closing) changes the
board at the ETag's valid-until even with a kept rendering; a restored database's reused version
number never serves the old timeline's board; with Redis stopped or unreachable the poll still
answers the board; and a served fragment is byte for byte what a fresh render at that moment gives.

These tests commit for real (transaction=True): the board version is given at commit.
"""

import datetime
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dosing import board_version, services
from dosing.models import Hold, Session
from patients.services import patient_update
from tests.factories import PatientFactory, PrescriptionFactory, SlotFactory, StaffFactory, TreatmentConsentFactory

from .conftest import TODAY, at, check_and_dose

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = "/dosing/board/rows/"


@pytest.fixture
def tablet():
    """tablet(user): a test client of its own, signed in as that user (each tablet has its own session)."""

    def sign_in(user):
        client = Client()
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def clock():
    with time_machine.travel(at(TODAY, 9, 0), tick=False) as traveller:
        yield traveller


@pytest.fixture
def observed(slot, nurse, second_nurse, clock):
    """Sam Taylor checked at 08:50 and dosed at 08:52: under observation until 09:07."""
    return check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 50))


@pytest.fixture
def expected_slot(clinic, prescriber, keyworker):
    patient = PatientFactory(clinic=clinic, given_name="Alex", family_name="Brown")
    TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
    return SlotFactory(prescription=PrescriptionFactory(patient=patient, prescriber=prescriber), date=TODAY,
                       session=Session.MORNING)  # fmt: skip


@pytest.fixture
def manager_nurse(clinic):
    return StaffFactory(username="mo.manager", roles=["clinic_manager", "nurse"], clinics=[clinic])


def poll(client) -> tuple[str, bool]:
    """A tablet's poll with no copy of the board: (the fragment, whether this request rendered it)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(ROWS)
    assert response.status_code == 200, response.status_code
    rendered = any("dosing_slot" in query["sql"] for query in queries.captured_queries)
    return response.content.decode(), rendered


def arrive_url(slot) -> str:
    return reverse("dosing-arrive", args=[slot.pk])


# --- shared, and the same as a fresh render ---------------------------------------------------------------------


def test_a_second_tablet_is_served_the_first_ones_rendering(tablet, observed, expected_slot, nurse, second_nurse):
    _, rendered = poll(tablet(nurse))
    assert rendered
    body, rendered = poll(tablet(second_nurse))
    assert not rendered  # the same clinic, version and can_dose: no second render
    assert "Sam Taylor" in body and "Under observation" in body


def test_a_served_fragment_is_byte_for_byte_a_fresh_render_at_that_moment(
    tablet, observed, expected_slot, nurse, second_nurse, clock
):
    poll(tablet(nurse))  # rendered and kept at 09:00:00
    clock.move_to(at(TODAY, 9, 3) + datetime.timedelta(seconds=27, microseconds=400_000))
    tablet = tablet(second_nurse)
    served, rendered = poll(tablet)
    assert not rendered
    page = tablet.get(reverse("dosing-board")).content.decode()  # a fresh render at the same moment

    assert served.startswith('<div id="board-live"') and served in page
    now_ms = int(at(TODAY, 9, 3).timestamp() * 1000) + 27_400
    assert f'data-now-ms="{now_ms}"' in served and 'data-updated="09:03:27"' in served
    assert '<span class="countdown__left">3:32</span>' in served  # 212.6 s before the observation ends at 09:07
    cache.clear()
    fresh, rendered = poll(tablet)
    assert rendered and fresh == served


# --- never to someone else ----------------------------------------------------------------------------------------


def test_another_clinics_nurse_never_gets_this_clinics_rendering(
    tablet, observed, other_clinic, other_nurse, other_prescriber, keyworker, nurse
):
    other = PatientFactory(clinic=other_clinic, given_name="Olga", family_name="Other")
    SlotFactory(prescription=PrescriptionFactory(patient=other, prescriber=other_prescriber), date=TODAY,
                session=Session.MORNING)  # fmt: skip
    mine, _ = poll(tablet(nurse))
    theirs, rendered = poll(tablet(other_nurse))

    assert rendered
    assert "Sam Taylor" in mine and "Olga Other" not in mine
    assert "Olga Other" in theirs and "Sam Taylor" not in theirs


def test_a_read_only_manager_never_gets_the_nurses_actions(tablet, expected_slot, nurse, manager, clock):
    with_actions, rendered = poll(tablet(nurse))
    assert rendered and arrive_url(expected_slot) in with_actions

    read_only, rendered = poll(tablet(manager))

    assert rendered
    assert "Alex Brown" in read_only and arrive_url(expected_slot) not in read_only


def test_a_nurse_never_gets_the_managers_read_only_board(tablet, expected_slot, nurse, manager, manager_nurse, clock):
    read_only, _ = poll(tablet(manager))
    assert arrive_url(expected_slot) not in read_only

    for dosing in (nurse, manager_nurse):  # a manager who is also a nurse has the actions too
        with_actions, _ = poll(tablet(dosing))
        assert arrive_url(expected_slot) in with_actions
    assert poll(tablet(manager_nurse))[1] is False  # the nurses' rendering is shared between them


def test_a_304_or_a_kept_rendering_is_never_served_without_access(client, tablet, expected_slot, nurse, keyworker):
    poll(tablet(nurse))
    client.logout()
    signed_out = client.get(ROWS)
    assert signed_out.status_code == 302 and "/accounts/login/" in signed_out["Location"]
    assert tablet(keyworker).get(ROWS).status_code == 403  # no dosing or board capability
    nurse.clinics.clear()
    assert tablet(nurse).get(ROWS).status_code == 403


# --- a change, or the clock, shows on the next poll ---------------------------------------------------------------


def _arrive(slot, nurse, **_):
    services.slot_mark_arrived(slot=slot, nurse=nurse, now=at(TODAY, 9, 0))


def _dose(slot, nurse, second_nurse, **_):
    check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 55))


def _hold(slot, **_):
    Hold.objects.create(
        patient=slot.patient, prescription=slot.prescription, since=at(TODAY, 8, 59),
        missed_since=TODAY - datetime.timedelta(days=3), missed_days=3, reason="S7 · three days missed",
    )  # fmt: skip


def _alert(slot, keyworker, **_):
    patient_update(patient=slot.patient, updated_by=keyworker, clinical_alert="Latex allergy")


@pytest.mark.parametrize(
    ("change", "shown"),
    [(_arrive, "Arrived 09:00"), (_dose, "Under observation"), (_hold, "ON HOLD"), (_alert, "Alert: Latex allergy")],
)
def test_a_change_shows_on_the_next_poll_of_every_tablet(
    tablet, expected_slot, nurse, second_nurse, keyworker, clock, change, shown
):
    tablets = [tablet(nurse), tablet(second_nurse)]
    for tablet in tablets:
        before, _ = poll(tablet)
        assert shown not in before
    version = board_version.current(expected_slot.clinic_id)

    change(slot=expected_slot, nurse=nurse, second_nurse=second_nurse, keyworker=keyworker)

    assert board_version.current(expected_slot.clinic_id) != version
    first, rendered = poll(tablets[0])
    assert rendered and shown in first
    second, rendered = poll(tablets[1])
    assert not rendered and second == first


def test_the_end_of_an_observation_changes_a_kept_board(tablet, observed, nurse, second_nurse, clock):
    ends = observed.observation_ends_at
    clock.move_to(ends - datetime.timedelta(seconds=1))
    before, _ = poll(tablet(nurse))
    assert "Under observation" in before and "Sign out patient" not in before
    assert poll(tablet(second_nurse))[1] is False  # kept until the observation ends

    clock.move_to(ends)
    after, rendered = poll(tablet(second_nurse))

    assert rendered and "Sign out patient" in after and "Under observation" not in after


def test_the_window_opening_and_closing_change_a_kept_board(tablet, expected_slot, nurse, second_nurse, clock):
    clock.move_to(at(TODAY, 7, 59) + datetime.timedelta(seconds=59))
    before, _ = poll(tablet(nurse))
    assert "The morning window opens at 08:00" in before
    assert poll(tablet(second_nurse))[1] is False

    clock.move_to(at(TODAY, 8, 0))
    opened, rendered = poll(tablet(second_nurse))
    assert rendered and "window opens" not in opened

    clock.move_to(at(TODAY, 10, 29))
    poll(tablet(nurse))
    assert poll(tablet(second_nurse))[1] is False
    clock.move_to(at(TODAY, 10, 30))
    closed, rendered = poll(tablet(second_nurse))
    assert rendered and "window ended at 10:30" in closed


def test_a_reused_version_number_of_a_restored_database_never_serves_the_old_board(
    tablet, expected_slot, nurse, second_nurse, clock
):
    """A restore (or a test database made again) gives an old version number to another board."""
    clinic = expected_slot.clinic_id
    before, _ = poll(tablet(nurse))
    old = board_version.current(clinic)
    patient_update(patient=expected_slot.patient, updated_by=nurse, preferred_name="Lex")
    with connection.cursor() as cursor:  # the restored row: the same number, written anew
        cursor.execute("UPDATE dosing_boardversion SET version = %s WHERE clinic_id = %s", [old, clinic])
    assert board_version.current(clinic) == old

    after, rendered = poll(tablet(second_nurse))

    assert rendered and "Lex" in after and after != before


def test_a_tablet_holding_a_board_from_before_a_restore_is_not_told_it_is_unchanged(
    tablet, expected_slot, nurse, clock
):
    """The 304 path too: the ETag names the version's stamp, so a reused number is a different board."""
    clinic = expected_slot.clinic_id
    client = tablet(nurse)
    before = client.get(ROWS)
    old = board_version.current(clinic)
    patient_update(patient=expected_slot.patient, updated_by=nurse, preferred_name="Lex")
    with connection.cursor() as cursor:  # the restored row: the same number, written anew
        cursor.execute("UPDATE dosing_boardversion SET version = %s WHERE clinic_id = %s", [old, clinic])

    again = client.get(ROWS, headers={"If-None-Match": before["ETag"]})

    assert again.status_code == 200 and "Lex" in again.content.decode()
    assert client.get(ROWS, headers={"If-None-Match": again["ETag"]}).status_code == 304


# --- without Redis ------------------------------------------------------------------------------------------------


@pytest.fixture
def private_cache(settings, private_redis):
    """The app's cache on a private redis-server the test can stop (the shared one is never stopped)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "health.cache.ResilientRedisCache",
            "LOCATION": private_redis.url.rsplit("/", 1)[0] + "/5",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    return private_redis


def test_with_redis_stopped_the_poll_answers_the_board_and_each_change(
    private_cache, tablet, expected_slot, nurse, second_nurse, clock
):
    tablets = [tablet(nurse), tablet(second_nurse)]
    kept, _ = poll(tablets[0])
    assert poll(tablets[1])[1] is False  # shared through Redis

    private_cache.stop()
    for tablet in tablets:
        body, _ = poll(tablet)
        assert body == kept
    _arrive(expected_slot, nurse)
    changed = [poll(tablet)[0] for tablet in tablets]

    assert all("Arrived 09:00" in body for body in changed)
    assert changed[0] == changed[1]


def test_with_an_unreachable_redis_url_the_poll_answers_the_board(settings, tablet, expected_slot, nurse, clock):
    settings.CACHES = {
        "default": {
            "BACKEND": "health.cache.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing answers
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    body, _ = poll(tablet(nurse))
    assert "Alex Brown" in body and arrive_url(expected_slot) in body
    _arrive(expected_slot, nurse)
    assert "Arrived 09:00" in poll(tablet(nurse))[0]


def test_the_fragment_holds_nothing_of_the_user_or_the_session(tablet, expected_slot, nurse, clock):
    tablet = tablet(nurse)
    body, _ = poll(tablet)
    token = tablet.get(reverse("dosing-board")).context["csrf_token"]
    assert "csrfmiddlewaretoken" not in body and str(token) not in body
    assert nurse.username not in body and tablet.cookies["sessionid"].value not in body
    assert re.search(r"<form[ >]", body) is None


# --- the board API: the same sharing for its JSON -----------------------------------------------------------------

API = "/api/v1/dosing/board/"


def api_poll(client) -> tuple[dict, bool]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(API)
    assert response.status_code == 200, response.status_code
    return response.json(), any("dosing_slot" in query["sql"] for query in queries.captured_queries)


def test_the_board_api_is_serialized_once_and_equals_a_fresh_serialization(
    tablet, observed, expected_slot, nurse, second_nurse, manager, clock
):
    api_poll(tablet(nurse))
    clock.move_to(at(TODAY, 9, 3) + datetime.timedelta(seconds=27, microseconds=400_000))
    served, rendered = api_poll(tablet(manager))  # the JSON has no actions: the same for everyone who may see it
    assert not rendered
    cache.clear()
    fresh, rendered = api_poll(tablet(second_nurse))

    assert rendered and served == fresh
    assert served["now"] == "2026-11-18T09:03:27.400000Z"
    rows = {row["patient"]["name"]: row for row in served["rows"]}
    assert rows["Sam Taylor"]["observation_seconds_left"] == 212
    assert rows["Alex Brown"]["observation_seconds_left"] is None


def test_the_board_api_shows_a_change_and_the_clock_on_the_next_poll(
    tablet, observed, expected_slot, nurse, second_nurse, other_nurse, clock
):
    def stages(body):
        return {row["patient"]["name"]: row["stage"] for row in body["rows"]}

    api_poll(tablet(nurse))
    _arrive(expected_slot, nurse)
    assert stages(api_poll(tablet(second_nurse))[0])["Alex Brown"] == "arrived"
    assert api_poll(tablet(nurse))[1] is False

    clock.move_to(observed.observation_ends_at)
    body, rendered = api_poll(tablet(nurse))
    assert rendered and stages(body)["Sam Taylor"] == "observation_over"
    assert api_poll(tablet(other_nurse))[0]["rows"] == []  # another clinic's board, never this one
