"""Stopping and re-prescribing on the same day: the new prescription takes over today's slots still to come.

Stopping cancels the open slots; without the take-over the one-slot-per-session constraint kept the
patient off the board until tomorrow.
"""

import pytest
import time_machine

from dosing.models import Administration, Hold, Prescription, Slot, SlotStatus
from tests.factories.clinics import PASSWORD

from .conftest import TODAY, at
from .test_api import good_check, post
from .test_pages import good_check as page_check

pytestmark = pytest.mark.django_db

NEW = {"drug": "diamorphine_inj", "route": "iv", "supply": "supervised", "morning_dose_mg": "60",
       "afternoon_dose_mg": "60", "daily_max_mg": "120", "starts_on": TODAY.isoformat()}  # fmt: skip


@pytest.fixture(autouse=True)
def _early_morning():
    with time_machine.travel(at(TODAY, 8, 20), tick=False):
        yield


def dose_of(witness, mg):
    return {"dose_mg": mg, "route": "iv", "injection_site": "left_arm", "witness": witness.pk,
            "witness_password": PASSWORD}  # fmt: skip


def test_stop_and_re_prescribe_today_through_the_api_the_patient_is_dosed_this_morning(
    client_for, slot, afternoon_slot, prescription, prescriber, nurse, second_nurse
):
    client = client_for(prescriber)
    stop = post(client, f"/api/v1/dosing/prescriptions/{prescription.pk}/stop/", {"reason": "Wrong drug form"})
    assert stop.status_code == 200, stop.content
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.CANCELLED
    created = post(client, "/api/v1/dosing/prescriptions/", {**NEW, "patient": slot.patient_id})
    assert created.status_code == 201, created.content

    new = Prescription.objects.get(pk=created.json()["id"])
    assert {(s.session, s.status, s.prescription_id) for s in Slot.objects.filter(date=TODAY)} == {
        ("morning", SlotStatus.SCHEDULED, new.pk),
        ("afternoon", SlotStatus.SCHEDULED, new.pk),
    }
    nurse_client = client_for(nurse)
    assert post(nurse_client, f"/api/v1/dosing/slots/{slot.pk}/checks/", good_check()).status_code == 201
    given = post(nurse_client, f"/api/v1/dosing/slots/{slot.pk}/administration/", dose_of(second_nurse, "60"))
    assert given.status_code == 201, given.content
    assert Administration.objects.get().prescription == new


def test_stop_and_re_prescribe_today_through_the_pages_the_patient_is_dosed_this_morning(
    client_for, slot, prescription, patient, prescriber, nurse, second_nurse
):
    client = client_for(prescriber)
    assert client.post(f"/dosing/prescriptions/{prescription.pk}/stop/", {"reason": "Wrong form"}).status_code == 302
    assert client.post(f"/dosing/patients/{patient.pk}/prescriptions/new/", NEW).status_code == 302

    nurse_client = client_for(nurse)
    assert nurse_client.post(f"/dosing/slots/{slot.pk}/check/", page_check()).status_code == 302
    response = nurse_client.post(f"/dosing/slots/{slot.pk}/dose/", dose_of(second_nurse, "60"))
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert Administration.objects.get().dose_mg == 60


def test_a_slot_already_dosed_or_ended_is_not_taken_over(client_for, slot, afternoon_slot, prescription, prescriber):
    with time_machine.travel(at(TODAY, 12, 0), tick=False):  # the morning window has ended
        client = client_for(prescriber)
        post(client, f"/api/v1/dosing/prescriptions/{prescription.pk}/stop/", {"reason": "Review"})
        created = post(client, "/api/v1/dosing/prescriptions/", {**NEW, "patient": slot.patient_id})
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.CANCELLED
    afternoon = Slot.objects.get(pk=afternoon_slot.pk)
    assert (afternoon.status, afternoon.prescription_id) == (SlotStatus.SCHEDULED, created.json()["id"])


def test_a_held_patient_switched_to_another_drug_is_restarted_on_the_new_prescription(
    client_for, slot, prescription, patient, prescriber
):
    hold = Hold.objects.create(patient=patient, prescription=prescription, since=at(TODAY, 7, 0), missed_days=3,
                               missed_since=TODAY, reason="S7 · held")  # fmt: skip
    client = client_for(prescriber)
    post(client, f"/api/v1/dosing/prescriptions/{prescription.pk}/stop/", {"reason": "Review"})
    switched = {**NEW, "drug": "hydromorphone_inj", "patient": patient.pk}
    assert post(client, "/api/v1/dosing/prescriptions/", switched).status_code == 201
    cleared = post(
        client, f"/api/v1/dosing/holds/{hold.pk}/clear/", {"morning_dose_mg": "40", "afternoon_dose_mg": "40"}
    )
    assert cleared.status_code == 200, cleared.content
    assert Prescription.objects.live().get().morning_dose_mg == 40
