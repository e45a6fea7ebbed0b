"""S5 and S7: a reduced dose and the restart dose after a hold are the prescriber's own act.

The prescriber acts in their own session, or types their PIN on the nurse's tablet (the witness PIN
machinery, with its lockout); naming a prescriber is not enough. The authorisation is recorded with
its time and how it was given, and the prescriber is alerted when their PIN was used. An authorised
reduction stands for the session whatever check is recorded after it.
"""

import datetime
from decimal import Decimal

import pytest
import time_machine

from clinics.services import witness_pin_set
from dosing.models import Administration, Alert, CheckOutcome, Hold, PreDoseCheck

from .conftest import MORNING, TODAY, at, check
from .test_api import good_check as api_check
from .test_api import good_dose as api_dose
from .test_api import post, refusal
from .test_pages import good_check as page_check
from .test_pages import good_dose as page_dose
from .test_pages import refused

pytestmark = pytest.mark.django_db

PIN = "482916"


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False):
        yield


@pytest.fixture
def prescriber_pin(prescriber):
    witness_pin_set(user=prescriber, pin=PIN)
    return PIN


def reduced(prescriber, **more) -> dict:
    return {"outcome": "reduced", "reduced_dose_mg": "50", "authorised_by": prescriber.pk, **more}


# --- The reduced dose through the API ----------------------------------------------------------------------


def test_api_naming_a_prescriber_without_their_pin_authorises_nothing(client_for, slot, nurse, prescriber):
    response = post(
        client_for(nurse), f"/api/v1/dosing/slots/{slot.pk}/checks/", {**api_check(), **reduced(prescriber)}
    )
    assert "PIN" in refusal(response, "S5", "authoriser_pin")
    assert not PreDoseCheck.objects.exists()


def test_api_a_wrong_pin_authorises_nothing(client_for, slot, nurse, prescriber, prescriber_pin):
    data = {**api_check(), **reduced(prescriber, authoriser_pin="999999")}
    assert "not correct" in refusal(post(client_for(nurse), f"/api/v1/dosing/slots/{slot.pk}/checks/", data), "S5",
                                    "authoriser_pin")  # fmt: skip
    assert not PreDoseCheck.objects.exists()


def test_api_the_prescribers_pin_authorises_with_time_and_an_alert(client_for, slot, nurse, prescriber, prescriber_pin):
    data = {**api_check(), **reduced(prescriber, authoriser_pin=PIN)}
    response = post(client_for(nurse), f"/api/v1/dosing/slots/{slot.pk}/checks/", data)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["authorised_by"], body["authorised_with"]) == (prescriber.pk, "pin")
    assert body["authorised_at"].startswith("2026-11-18T09:00")
    (alert,) = Alert.objects.filter(recipient=prescriber)
    assert alert.kind == "authorisation" and "50 mg" in alert.message and "PIN" in alert.message


def test_api_a_prescriber_authorises_in_their_own_session(client_for, slot, prescriber):
    data = {**api_check(), "outcome": "reduced", "reduced_dose_mg": "60"}
    response = post(client_for(prescriber), f"/api/v1/dosing/slots/{slot.pk}/checks/", data)
    assert response.status_code == 201, response.content
    saved = PreDoseCheck.objects.get()
    assert (saved.authorised_by, saved.authorised_with, saved.authorised_at) == (
        prescriber, "session", MORNING)  # fmt: skip


def test_api_a_later_proceed_check_does_not_lift_the_reduction(
    client_for, slot, nurse, second_nurse, prescriber, prescriber_pin
):
    client = client_for(nurse)
    url = f"/api/v1/dosing/slots/{slot.pk}/checks/"
    assert post(client, url, {**api_check(), **reduced(prescriber, authoriser_pin=PIN)}).status_code == 201
    assert post(client, url, api_check()).status_code == 201  # a second check: proceed
    full = post(client, f"/api/v1/dosing/slots/{slot.pk}/administration/", api_dose(second_nurse))
    assert "reduced dose of 50 mg" in refusal(full, "S5", "dose_mg")
    board_row = client.get("/api/v1/dosing/board/").json()["rows"][0]
    assert Decimal(board_row["authorised_dose_mg"]) == 50
    given = post(client, f"/api/v1/dosing/slots/{slot.pk}/administration/", {**api_dose(second_nurse), "dose_mg": "50"})
    assert given.status_code == 201, given.content
    assert Administration.objects.get().prescribed_dose_mg == 50


# --- The restart dose after a hold through the API ------------------------------------------------------------


@pytest.fixture
def hold(slot, prescription):
    return Hold.objects.create(
        patient=slot.patient, prescription=prescription, since=at(TODAY, 7, 0), missed_days=3,
        missed_since=TODAY - datetime.timedelta(days=3), reason="S7 · held",
    )  # fmt: skip


RESTART = {"morning_dose_mg": "50", "afternoon_dose_mg": "50", "notes": "Seen by phone"}


def test_api_a_nurse_cannot_clear_a_hold_without_the_prescribers_pin(client_for, hold, nurse, prescriber):
    url = f"/api/v1/dosing/holds/{hold.pk}/clear/"
    assert "prescriber" in refusal(post(client_for(nurse), url, RESTART), "S7", "prescriber")
    refusal(post(client_for(nurse), url, {**RESTART, "prescriber": prescriber.pk}), "S7", "prescriber_pin")
    hold.refresh_from_db()
    assert hold.cleared_at is None


def test_api_the_prescribers_pin_on_the_tablet_clears_the_hold_recorded_and_notified(
    client_for, hold, nurse, prescriber, prescriber_pin
):
    data = {**RESTART, "prescriber": prescriber.pk, "prescriber_pin": PIN}
    response = post(client_for(nurse), f"/api/v1/dosing/holds/{hold.pk}/clear/", data)
    assert response.status_code == 200, response.content
    hold.refresh_from_db()
    assert (hold.cleared_by, hold.cleared_with, hold.cleared_recorded_by, hold.cleared_at) == (
        prescriber, "pin", nurse, MORNING)  # fmt: skip
    assert hold.restart_prescription.prescriber == prescriber
    assert Alert.objects.filter(recipient=prescriber, kind="authorisation", hold=hold).exists()


# --- The same through the pages ------------------------------------------------------------------------------


def test_page_naming_a_prescriber_without_their_pin_authorises_nothing(client_for, slot, nurse, prescriber):
    response = client_for(nurse).post(f"/dosing/slots/{slot.pk}/check/", {**page_check(), **reduced(prescriber)})
    refused(response, "S5", "authoriser_pin")
    assert not PreDoseCheck.objects.exists()


def test_page_the_prescribers_pin_authorises_and_a_later_check_does_not_lift_it(
    client_for, slot, nurse, second_nurse, prescriber, prescriber_pin
):
    client = client_for(nurse)
    first = client.post(f"/dosing/slots/{slot.pk}/check/", {**page_check(), **reduced(prescriber, authoriser_pin=PIN)})
    assert first.status_code == 302
    assert client.post(f"/dosing/slots/{slot.pk}/check/", page_check()).status_code == 302
    form = client.get(f"/dosing/slots/{slot.pk}/dose/")
    assert 'value="50' in form.text
    summary = refused(client.post(f"/dosing/slots/{slot.pk}/dose/", page_dose(second_nurse)), "S5", "dose_mg")
    assert "reduced dose of 50 mg" in summary
    assert not Administration.objects.exists()


def test_page_a_nurse_clears_a_hold_with_the_prescribers_pin(client_for, hold, nurse, prescriber, prescriber_pin):
    client = client_for(nurse)
    assert client.get(f"/dosing/holds/{hold.pk}/").status_code == 200
    wrong = client.post(f"/dosing/holds/{hold.pk}/", {**RESTART, "prescriber": prescriber.pk, "prescriber_pin": "1"})
    refused(wrong, "S7", "prescriber_pin")
    right = client.post(f"/dosing/holds/{hold.pk}/", {**RESTART, "prescriber": prescriber.pk, "prescriber_pin": PIN})
    assert right.status_code == 302
    hold.refresh_from_db()
    assert (hold.cleared_by, hold.cleared_with) == (prescriber, "pin")


def test_service_a_reduction_by_a_prescribers_own_session_needs_no_pin(slot, prescriber):
    saved = check(slot, prescriber, outcome=CheckOutcome.REDUCED, reduced_dose_mg=Decimal("40"))
    assert (saved.authorised_by, saved.authorised_with) == (prescriber, "session")


# --- The lockout holds on every path that takes a prescriber's PIN ---------------------------------------------
# Each path refuses a wrong PIN by rolling its transaction back: the count of wrong tries must survive that.


def _pin_tries(client, slot, hold, prescriber, path: str, pin: str):
    if path == "api check":
        return post(
            client,
            f"/api/v1/dosing/slots/{slot.pk}/checks/",
            {**api_check(), **reduced(prescriber, authoriser_pin=pin)},
        )
    if path == "page check":
        return client.post(
            f"/dosing/slots/{slot.pk}/check/", {**page_check(), **reduced(prescriber, authoriser_pin=pin)}
        )
    if path == "api hold":
        return post(
            client,
            f"/api/v1/dosing/holds/{hold.pk}/clear/",
            {**RESTART, "prescriber": prescriber.pk, "prescriber_pin": pin},
        )
    return client.post(f"/dosing/holds/{hold.pk}/", {**RESTART, "prescriber": prescriber.pk, "prescriber_pin": pin})


@pytest.mark.parametrize("path", ["api check", "page check", "api hold", "page hold"])
def test_after_five_wrong_prescriber_pins_even_the_right_one_authorises_nothing(
    client_for, slot, hold, nurse, prescriber, prescriber_pin, settings, path
):
    client = client_for(nurse)
    for _ in range(settings.WITNESS_PIN_MAX_FAILURES):
        assert _pin_tries(client, slot, hold, prescriber, path, "999999").status_code == 400

    response = _pin_tries(client, slot, hold, prescriber, path, PIN)

    assert response.status_code == 400, response.content
    assert "locked until" in response.content.decode()
    assert not PreDoseCheck.objects.exists()
    hold.refresh_from_db()
    assert hold.cleared_at is None
