"""S10 with S3 and S4: a correction is checked as a dose, stays in its slot's window, and reopens a voided slot.

Attacks tried through the API and the correction page: moving a dose to another day (which let a
second dose through S3), raising 100 mg to 1,000 mg, moving a dose next to another one; a raise
within the limits alerts the prescriber; a correction to 0 mg reopens the slot while its window
is open, so the right dose can be given, with the register following every step.
"""

import datetime
from decimal import Decimal

import pytest
import time_machine

from cd_register.models import Register, RegisterEntry
from dosing import services
from dosing.models import Administration, Alert, AlertKind, DosingSettings, Slot, SlotStatus
from tests.factories.clinics import PASSWORD

from .conftest import TODAY, at, check, check_and_dose
from .test_api import good_check, good_dose, post, refusal
from .test_pages import good_check as page_check
from .test_pages import refused

pytestmark = pytest.mark.django_db
NOW = at(TODAY, 9, 30)


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def given(slot, nurse, second_nurse):
    return check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 9, 0), dose_mg=Decimal("80"))


def api_correction(witness, **overrides) -> dict:
    return {"reason": "Recorded wrongly", "dose_mg": "80", "route": "iv", "injection_site": "left_arm",
            "given_at": at(TODAY, 9, 0).isoformat(), "witness": witness.pk, "witness_password": PASSWORD,
            **overrides}  # fmt: skip


def page_correction(witness, **overrides) -> dict:
    return {"reason": "Recorded wrongly", "dose_mg": "80", "route": "iv", "injection_site": "left_arm",
            "given_at": "2026-11-18T09:00", "witness": witness.pk, "witness_password": PASSWORD,
            **overrides}  # fmt: skip


def api_url(administration) -> str:
    return f"/api/v1/dosing/administrations/{administration.pk}/corrections/"


def page_url(administration) -> str:
    return f"/dosing/administrations/{administration.pk}/correct/"


def test_a_correction_cannot_move_a_dose_out_of_its_slots_window_through_the_api(
    client_for, given, nurse, second_nurse
):
    client = client_for(second_nurse)
    far = datetime.datetime(2020, 1, 1, 9, 0, tzinfo=datetime.UTC).isoformat()
    message = refusal(post(client, api_url(given), api_correction(nurse, given_at=far)), "S10", "given_at")
    assert message == (
        "S10 · The corrected time must be within the morning window of 18 Nov (08:00-10:30), give or take 30 min"
    )
    late = at(TODAY, 11, 1).isoformat()  # 31 min after the window
    with time_machine.travel(at(TODAY, 11, 5), tick=False):
        client = client_for(second_nurse)  # two hours on, the idle session has ended: sign in again
        refusal(post(client, api_url(given), api_correction(nurse, given_at=late)), "S10", "given_at")
    assert not Administration.objects.filter(corrects=given).exists()


def test_a_correction_cannot_move_a_dose_out_of_its_slots_window_through_the_page(
    client_for, given, nurse, second_nurse
):
    response = client_for(second_nurse).post(page_url(given), page_correction(nurse, given_at="2020-01-01T09:00"))
    assert "within the morning window of 18 Nov" in refused(response, "S10", "given_at")
    assert not Administration.objects.filter(corrects=given).exists()


def test_a_correction_cannot_raise_a_dose_above_the_prescription_through_the_api(
    client_for, given, nurse, second_nurse, clinic
):
    entries = RegisterEntry.objects.count()
    response = post(client_for(second_nurse), api_url(given), api_correction(nurse, dose_mg="1000"))
    assert (
        refusal(response, "S4", "dose_mg") == "S4 · 1,000 mg is more than the prescribed 100 mg for the morning session"
    )
    assert RegisterEntry.objects.count() == entries and not Administration.objects.filter(corrects=given).exists()


def test_a_correction_cannot_raise_a_dose_above_the_prescription_through_the_page(
    client_for, given, nurse, second_nurse
):
    response = client_for(second_nurse).post(page_url(given), page_correction(nurse, dose_mg="1000"))
    assert "1,000 mg is more than the prescribed 100 mg" in refused(response, "S4", "dose_mg")


def test_a_correction_cannot_bring_a_dose_within_the_minimum_interval_of_another(
    client_for, slot, afternoon_slot, clinic, nurse, second_nurse, _morning
):
    DosingSettings.objects.filter(clinic=clinic).update(afternoon_start=datetime.time(12, 0))
    Slot.objects.filter(pk=afternoon_slot.pk).update(window_start=at(TODAY, 12, 0))
    afternoon_slot.refresh_from_db()
    morning = check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 0))
    _morning.move_to(at(TODAY, 11, 5))
    check_and_dose(afternoon_slot, nurse, second_nurse, now=at(TODAY, 11, 2) + datetime.timedelta(hours=1))
    _morning.move_to(at(TODAY, 13, 0))

    client = client_for(second_nurse)
    moved = api_correction(nurse, dose_mg="100", given_at=at(TODAY, 10, 55).isoformat())
    message = refusal(post(client, api_url(morning), moved), "S3", "given_at")
    assert message == "S3 · A dose at 10:55 would be 1 h 9 min from the dose at 12:04; the minimum interval is 3 h"
    response = client.post(page_url(morning), page_correction(nurse, dose_mg="100", given_at="2026-11-18T10:55"))
    refused(response, "S3", "given_at")


def test_a_correction_that_raises_a_dose_alerts_the_prescriber(
    client_for, clinic, given, nurse, second_nurse, prescriber
):
    hundred = Register.objects.get(clinic=clinic, drug="diamorphine_inj", strength_mg=100)
    raised = api_correction(nurse, dose_mg="100", ampoules=[{"register": hundred.pk, "count": 1}])
    response = post(client_for(second_nurse), api_url(given), raised)
    assert response.status_code == 201, response.content
    (alert,) = Alert.objects.filter(kind=AlertKind.DOSE_RAISED)
    assert alert.recipient == prescriber and alert.administration_id == response.json()["id"]
    assert alert.message.startswith("S10 · Sam Taylor: the morning dose of 18 Nov was corrected from 80 mg to 100 mg")
    assert alert.message.endswith(": Recorded wrongly")
    # a lower correction is no news for the prescriber
    given_again = Administration.objects.get(pk=response.json()["id"])
    lower = api_correction(nurse, dose_mg="90", reason="Drew up 90")  # the 100 mg ampoule: 10 mg waste
    assert post(client_for(second_nurse), api_url(given_again), lower).status_code == 201
    assert Alert.objects.filter(kind=AlertKind.DOSE_RAISED).count() == 1


def test_a_correction_to_no_dose_reopens_the_slot_for_the_right_dose_through_the_api(
    client_for, clinic, slot, given, nurse, second_nurse
):
    hundred = Register.objects.get(clinic=clinic, drug="diamorphine_inj", strength_mg=100)
    client = client_for(second_nurse)
    voided = post(client, api_url(given), api_correction(nurse, dose_mg="0", reason="Wrong patient", ampoules=[]))
    assert voided.status_code == 201, voided.content
    slot.refresh_from_db()
    assert slot.status == SlotStatus.SCHEDULED

    dose_url = f"/api/v1/dosing/slots/{slot.pk}/administration/"
    nurse_client = client_for(nurse)
    # the check before the mistake does not carry over: a new pre-dose check first
    refusal(post(nurse_client, dose_url, good_dose(second_nurse)), "S5")
    assert post(nurse_client, f"/api/v1/dosing/slots/{slot.pk}/checks/", good_check()).status_code == 201
    redone = post(nurse_client, dose_url, good_dose(second_nurse))
    assert redone.status_code == 201, redone.content
    in_force = Administration.objects.get(pk=redone.json()["id"])
    assert (in_force.dose_mg, in_force.corrects_id) == (100, voided.json()["id"])
    hundred.refresh_from_db()
    assert hundred.balance == 1999, "the wrong patient's ampoule went back; the right dose drew one"
    # one dose in force for the slot: a second one is refused (S1)
    refusal(post(nurse_client, dose_url, good_dose(second_nurse)), "S1")


def test_a_correction_to_no_dose_reopens_the_slot_for_the_right_dose_through_the_page(
    client_for, clinic, slot, given, nurse, second_nurse
):
    none_drawn = {f"ampoules-{r.pk}": "0" for r in Register.objects.filter(clinic=clinic, drug="diamorphine_inj")}
    response = client_for(second_nurse).post(
        page_url(given), page_correction(nurse, dose_mg="0", reason="Wrong patient", **none_drawn)
    )
    assert response.status_code == 302
    nurse_client = client_for(nurse)
    assert nurse_client.post(f"/dosing/slots/{slot.pk}/check/", page_check()).status_code == 302
    response = nurse_client.post(f"/dosing/slots/{slot.pk}/dose/", {**good_dose(second_nurse)})
    assert response.status_code == 302, response.content.decode()[-1500:]
    assert Administration.objects.filter(slot=slot, corrected_by__isnull=True).get().dose_mg == 100


def test_a_correction_to_no_dose_after_the_window_leaves_the_session_missed(slot, given, nurse, second_nurse, _morning):
    _morning.move_to(at(TODAY, 11, 0))
    services.correct_administration(
        administration=given, author=second_nurse, reason="Not given", dose_mg=Decimal(0), route="iv",
        injection_site="", given_at=given.given_at, witness=nurse, witness_password=PASSWORD, now=at(TODAY, 11, 0),
    )  # fmt: skip
    slot.refresh_from_db()
    assert slot.status == SlotStatus.MISSED, "no dose that session: it counts towards S7"
    with pytest.raises(Exception, match="S11"):
        check(slot, nurse, now=at(TODAY, 11, 1))
