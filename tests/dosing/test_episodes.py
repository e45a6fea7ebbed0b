"""S13: no dose, pre-dose check or slot outside an open treatment episode.

Every path that ends an episode goes through `patients.services.patient_discharge` (the discharge
page and the API; there is no admin or command for episodes), whose hook stops the prescriptions
and cancels the slots still to come in the same transaction. Each is tried here, with a slot that
the discharge could have left behind, through the API and through the pages.
"""

import datetime
import html
from decimal import Decimal

import pytest
import time_machine

from cd_register.models import RegisterEntry
from dosing import services
from dosing.models import Administration, PreDoseCheck, Prescription, Session, Slot, SlotStatus
from patients.models import Episode
from patients.services import patient_discharge, patient_readmit
from tests.factories import SlotFactory

from .conftest import MORNING, TODAY, at, check, check_and_dose
from .test_api import good_check, good_dose, post, refusal
from .test_pages import good_check as page_check
from .test_pages import refused

pytestmark = pytest.mark.django_db

TOMORROW = TODAY + datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def later_slots(prescription):
    return [
        SlotFactory(prescription=prescription, date=TODAY, session=Session.AFTERNOON),
        SlotFactory(prescription=prescription, date=TOMORROW, session=Session.MORNING),
    ]


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_s13_a_patient_discharged_through_the_api_cannot_be_dosed_or_checked(
    client_for, slot, later_slots, nurse, second_nurse, keyworker, prescription
):
    check(slot, nurse)  # checked at the hatch, then the discharge is recorded
    response = post(client_for(keyworker), f"/api/v1/patients/{slot.patient_id}/discharge/", {"reason": "custody"})
    assert response.status_code == 200, response.content
    entries = RegisterEntry.objects.count()

    nurse_client = client_for(nurse)
    message = refusal(
        post(nurse_client, f"/api/v1/dosing/slots/{slot.pk}/administration/", good_dose(second_nurse)), "S13"
    )
    assert message == (
        "S13 · No dose: the treatment episode ended on 18 Nov (in custody); "
        "re-admit the patient and write a new prescription first"
    )
    refusal(post(nurse_client, f"/api/v1/dosing/slots/{later_slots[0].pk}/checks/", good_check()), "S13")
    assert not Administration.objects.exists()
    assert RegisterEntry.objects.count() == entries
    assert PreDoseCheck.objects.count() == 1


def test_s13_a_patient_discharged_through_the_page_cannot_be_dosed_or_checked(
    client_for, slot, later_slots, nurse, second_nurse, keyworker
):
    check(slot, nurse)
    response = client_for(keyworker).post(f"/patients/{slot.patient_id}/discharge/", {"reason": "died", "notes": ""})
    assert response.status_code == 302, text(response)

    nurse_client = client_for(nurse)
    summary = refused(nurse_client.post(f"/dosing/slots/{slot.pk}/dose/", good_dose(second_nurse)), "S13")
    assert "No dose: the treatment episode ended on 18 Nov (died)" in summary
    summary = refused(nurse_client.post(f"/dosing/slots/{later_slots[0].pk}/check/", page_check()), "S13")
    assert "No pre-dose check: the treatment episode ended on 18 Nov (died)" in summary
    assert not Administration.objects.exists()


def test_s13_ending_an_episode_stops_the_prescriptions_and_cancels_the_slots_to_come(
    slot, later_slots, prescription, keyworker
):
    patient_discharge(patient=slot.patient, reason="to_other_service", notes="Moved to Leeds", discharged_by=keyworker)

    prescription.refresh_from_db()
    assert prescription.stopped_at == MORNING and prescription.stopped_by == keyworker
    assert prescription.stop_reason == "Treatment episode ended: Transferred to another service (Moved to Leeds)"
    assert set(Slot.objects.values_list("status", flat=True)) == {SlotStatus.CANCELLED}
    assert not Prescription.objects.live().exists()
    # the slot job makes nothing for a patient outside an open episode
    assert services.create_slots(now=MORNING, days_ahead=2) == 0


def test_s13_a_discharge_that_cannot_be_recorded_leaves_the_treatment_as_it_was(
    slot, later_slots, prescription, nurse, second_nurse, keyworker
):
    check_and_dose(slot, nurse, second_nurse)
    with pytest.raises(Exception) as refusal_info:
        patient_discharge(
            patient=slot.patient, reason="died", ended_on=TODAY - datetime.timedelta(days=1), discharged_by=keyworker
        )
    assert "S13 · The discharge date cannot be before the last dose given, on 18 Nov" in str(refusal_info.value)
    prescription.refresh_from_db()
    assert prescription.is_live and Episode.objects.get(patient=slot.patient).is_open
    assert Slot.objects.get(pk=later_slots[1].pk).status == SlotStatus.SCHEDULED


def test_s13_a_discharge_dated_before_a_dose_is_refused_through_the_api_and_the_page(
    client_for, slot, nurse, second_nurse, keyworker
):
    check_and_dose(slot, nurse, second_nurse)
    yesterday = (TODAY - datetime.timedelta(days=1)).isoformat()
    response = post(client_for(keyworker), f"/api/v1/patients/{slot.patient_id}/discharge/",
                    {"reason": "died", "ended_on": yesterday})  # fmt: skip
    refusal(response, "S13", "ended_on")
    page = client_for(keyworker).post(
        f"/patients/{slot.patient_id}/discharge/", {"reason": "died", "ended_on": yesterday}
    )
    assert page.status_code in (200, 400) and "The discharge date cannot be before the last dose" in text(page)
    assert "S13 · " not in text(page)
    assert Episode.objects.get(patient=slot.patient).is_open


def test_s13_re_admission_needs_a_new_prescription_and_then_doses_today(
    client_for, slot, later_slots, prescription, nurse, second_nurse, keyworker, prescriber
):
    patient_discharge(patient=slot.patient, reason="dropped_out", discharged_by=keyworker)
    patient_readmit(patient=slot.patient, readmitted_by=keyworker)

    # the old prescription stays stopped and its slots cancelled: no dose until a prescriber writes a new one
    afternoon = later_slots[0]
    with time_machine.travel(at(TODAY, 15, 40), tick=False):
        assert post(client_for(nurse), f"/api/v1/dosing/slots/{afternoon.pk}/checks/", good_check()).status_code == 400
        response = post(client_for(prescriber), "/api/v1/dosing/prescriptions/", {
            "patient": slot.patient_id, "drug": "diamorphine_inj", "route": "iv", "morning_dose_mg": "60",
            "afternoon_dose_mg": "60", "daily_max_mg": "120", "starts_on": TODAY.isoformat()})  # fmt: skip
        assert response.status_code == 201, response.content
    afternoon.refresh_from_db()
    assert afternoon.status == SlotStatus.SCHEDULED and afternoon.prescription_id == response.json()["id"]
    given = check_and_dose(afternoon, nurse, second_nurse, now=at(TODAY, 15, 41), dose_mg=Decimal("60"))
    assert given.prescription_id == response.json()["id"]
