"""S14: diamorphine for addiction only on a prescription by a prescriber holding a valid Home Office licence
for that clinic. The clinic manager records licences (with history); the manager and the prescriber are alerted
30 and 7 days before expiry (a scheduled job, idempotent); prescriptions whose prescriber's licence has lapsed
are flagged for review on the board and the hold review page, and doses against them are refused.
"""

import datetime

import pytest
import time_machine
from django.apps import apps

from dosing.models import Alert, PreDoseCheck, Prescription

from .conftest import MORNING, TODAY
from .test_api import good_check as api_check
from .test_api import post, refusal
from .test_pages import good_check as page_check
from .test_pages import refused

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False):
        yield


def licences():
    return apps.get_model("dosing", "PrescriberLicence").objects


def lapse(prescriber, clinic, on: datetime.date):
    """The prescriber's licences at the clinic end on `on` (the day before is the last valid day)."""
    licences().filter(prescriber=prescriber, clinic=clinic).update(valid_to=on - datetime.timedelta(days=1))


NEW = {"drug": "diamorphine_inj", "route": "iv", "supply": "supervised", "morning_dose_mg": "80",
       "afternoon_dose_mg": "80", "daily_max_mg": "200", "starts_on": TODAY.isoformat()}  # fmt: skip


def licence_data(prescriber, **more):
    return {"prescriber": prescriber.pk, "number": "HO-12345", "valid_from": "2026-01-01", "valid_to": "2026-12-31",
            **more}  # fmt: skip


# --- Recording licences -------------------------------------------------------------------------------------


def test_api_the_manager_records_a_licence_with_history(client_for, manager, nurse, clinic, prescriber):
    url = f"/api/v1/dosing/clinics/{clinic.pk}/licences/"
    assert post(client_for(nurse), url, licence_data(prescriber)).status_code == 403
    bad = post(client_for(manager), url, licence_data(prescriber, valid_to="2025-12-31"))
    assert "before" in refusal(bad, "S14", "valid_to")
    made = post(client_for(manager), url, licence_data(prescriber))
    assert made.status_code == 201, made.content
    listed = client_for(manager).get(url).json()
    assert ("HO-12345", manager.pk) in [(row["number"], row["recorded_by"]) for row in listed]


def test_page_the_manager_records_a_licence(client_for, manager, clinic, prescriber):
    client = client_for(manager)
    assert client.get("/dosing/licences/").status_code == 200
    refused(client.post("/dosing/licences/", licence_data(prescriber, valid_to="2025-01-01")), "S14", "valid_to")
    assert client.post("/dosing/licences/", licence_data(prescriber, number="HO-777")).status_code == 302
    assert "HO-777" in client.get("/dosing/licences/").text


# --- Prescribing -----------------------------------------------------------------------------------------------


def test_api_no_diamorphine_prescription_without_a_valid_licence(client_for, patient, prescriber, clinic):
    lapse(prescriber, clinic, TODAY)
    response = post(client_for(prescriber), "/api/v1/dosing/prescriptions/", {**NEW, "patient": patient.pk})
    assert "Home Office licence" in refusal(response, "S14")
    assert not Prescription.objects.filter(patient=patient).exists()


def test_page_no_diamorphine_prescription_without_a_valid_licence(client_for, patient, prescriber, clinic):
    lapse(prescriber, clinic, TODAY)
    response = client_for(prescriber).post(f"/dosing/patients/{patient.pk}/prescriptions/new/", NEW)
    assert "Home Office licence" in refused(response, "S14")
    assert not Prescription.objects.filter(patient=patient).exists()


# --- A licence that lapses under a running prescription -----------------------------------------------------


def test_api_doses_against_a_lapsed_licence_are_refused_and_flagged(client_for, slot, nurse, prescriber, clinic):
    lapse(prescriber, clinic, TODAY)
    response = post(client_for(nurse), f"/api/v1/dosing/slots/{slot.pk}/checks/", api_check())
    assert "licence" in refusal(response, "S14")
    assert not PreDoseCheck.objects.exists()
    (row,) = client_for(nurse).get("/api/v1/dosing/board/").json()["rows"]
    assert row["licence_review"] is True


def test_page_doses_against_a_lapsed_licence_are_refused_and_flagged(
    client_for, slot, prescription, nurse, prescriber, clinic
):
    lapse(prescriber, clinic, TODAY)
    refused(client_for(nurse).post(f"/dosing/slots/{slot.pk}/check/", page_check()), "S14")
    assert "licence lapsed: prescriber review needed" in client_for(nurse).get("/dosing/board/").text  # a flag
    review = client_for(prescriber).get("/dosing/holds/").text
    assert "licence lapsed" in review and "Sam Taylor" in review  # in words: pages show no rule codes


# --- Expiry alerts ----------------------------------------------------------------------------------------------


def test_expiry_alerts_30_and_7_days_before_once_each(clinic, prescriber, manager, slot):
    from dosing import tasks

    licences().filter(prescriber=prescriber, clinic=clinic).update(valid_to=TODAY + datetime.timedelta(days=30))
    for _ in range(2):
        tasks.licence_expiry_alerts_job()
    assert Alert.objects.filter(recipient=prescriber, kind="licence").count() == 1
    assert Alert.objects.filter(recipient=manager, kind="licence").count() == 1
    with time_machine.travel(MORNING + datetime.timedelta(days=23), tick=False):
        tasks.licence_expiry_alerts_job()
        tasks.licence_expiry_alerts_job()
    messages = list(Alert.objects.filter(recipient=prescriber, kind="licence").values_list("message", flat=True))
    assert len(messages) == 2 and any("7 days" in message for message in messages)
