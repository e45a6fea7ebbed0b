"""An oral top-up beside the injectable (oral methadone or slow-release morphine): its own once-a-day slot on the
board, its own daily maximum (S4 per drug, with the clinic's ceiling) and its controlled-drug register line where
the drug has one; the injectable's sessions (S2) are not used up by it.
"""

import pytest
import time_machine

from cd_register.models import RegisterEntry
from dosing.models import Administration, DosingSettings, Slot

from .conftest import MORNING, TODAY, at, check, check_and_dose
from .test_api import good_check as api_check
from .test_api import post, refusal
from .test_pages import good_check as page_check
from .test_pages import refused

pytestmark = pytest.mark.django_db

METHADONE = {"drug": "methadone_oral", "route": "oral", "supply": "supervised", "morning_dose_mg": "60",
             "daily_max_mg": "60", "starts_on": TODAY.isoformat()}  # fmt: skip


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False):
        yield


def top_up_slot(patient):
    return Slot.objects.exclude(prescription__drug="diamorphine_inj").get(patient=patient, date=TODAY)


def oral_dose(witness, **more) -> dict:
    return {"dose_mg": "60", "route": "oral", "injection_site": "", "witness": witness.pk, "witness_password":
            "correct-horse-battery-staple", **more}  # fmt: skip


def test_api_a_top_up_gets_its_slot_its_board_row_and_its_register_line(
    client_for, slot, patient, prescriber, nurse, second_nurse
):
    made = post(client_for(prescriber), "/api/v1/dosing/prescriptions/", {**METHADONE, "patient": patient.pk})
    assert made.status_code == 201, made.content
    top_up = top_up_slot(patient)
    assert (top_up.session, top_up.window_start) == ("morning", at(TODAY, 8, 0))
    rows = client_for(nurse).get("/api/v1/dosing/board/").json()["rows"]
    assert sorted(row["drug"] for row in rows) == ["diamorphine_inj", "methadone_oral"]
    # The injectable dose of the session, then the top-up: S2 counts the injectable's sessions only.
    check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 40))
    client = client_for(nurse)
    assert post(client, f"/api/v1/dosing/slots/{top_up.pk}/checks/", api_check()).status_code == 201
    too_much = post(client, f"/api/v1/dosing/slots/{top_up.pk}/administration/", oral_dose(second_nurse, dose_mg="70"))
    assert "70 mg is more than the prescribed 60 mg" in refusal(too_much, "S4", "dose_mg")
    given = post(client, f"/api/v1/dosing/slots/{top_up.pk}/administration/", oral_dose(second_nurse))
    assert given.status_code == 201, given.content
    assert RegisterEntry.objects.filter(administration_ref=given.json()["id"]).exists()


def test_api_the_clinics_daily_ceiling_for_methadone_is_a_setting(client_for, manager, patient, prescriber, clinic):
    settings = client_for(manager).get(f"/api/v1/dosing/clinics/{clinic.pk}/settings/").json()
    assert settings["max_daily_methadone_mg"] == "150.00"
    over = post(client_for(prescriber), "/api/v1/dosing/prescriptions/",
                {**METHADONE, "patient": patient.pk, "morning_dose_mg": "200", "daily_max_mg": "200"})  # fmt: skip
    assert "ceiling of 150 mg for oral methadone" in refusal(over, "S4", "daily_max_mg")


def test_api_a_top_up_beside_the_injectable_is_once_a_day(client_for, slot, patient, prescriber):
    twice = {**METHADONE, "patient": patient.pk, "afternoon_dose_mg": "20", "daily_max_mg": "80"}
    response = post(client_for(prescriber), "/api/v1/dosing/prescriptions/", twice)
    assert "once a day" in refusal(response, "S2", "afternoon_dose_mg")


def test_page_a_top_up_is_on_the_board_and_given_once(client_for, slot, patient, prescriber, nurse, second_nurse):
    made = client_for(prescriber).post(f"/dosing/patients/{patient.pk}/prescriptions/new/", METHADONE)
    assert made.status_code == 302
    board = client_for(nurse).get("/dosing/board/").text
    assert "Oral methadone" in board and "once-daily top-up" in board
    top_up = top_up_slot(patient)
    check(top_up, nurse)
    client = client_for(nurse)
    data = {**oral_dose(second_nurse), "injection_site": ""}
    assert client.post(f"/dosing/slots/{top_up.pk}/dose/", data).status_code == 302
    refused(client.post(f"/dosing/slots/{top_up.pk}/dose/", data), "S1")
    assert Administration.objects.filter(slot=top_up).count() == 1
    assert DosingSettings.for_clinic(top_up.clinic).daily_ceiling_mg("methadone_oral") == 150


def test_page_the_injectable_is_still_dosed_after_the_top_up(
    client_for, slot, patient, prescriber, nurse, second_nurse
):
    client_for(prescriber).post(f"/dosing/patients/{patient.pk}/prescriptions/new/", METHADONE)
    top_up = top_up_slot(patient)
    check_and_dose(top_up, nurse, second_nurse, now=at(TODAY, 8, 30), dose_mg="60", route="oral", injection_site="")
    client = client_for(nurse)
    assert client.post(f"/dosing/slots/{slot.pk}/check/", page_check()).status_code == 302
    data = {"dose_mg": "100", "route": "iv", "injection_site": "left_arm", "witness": second_nurse.pk,
            "witness_password": "correct-horse-battery-staple"}  # fmt: skip
    assert client.post(f"/dosing/slots/{slot.pk}/dose/", data).status_code == 302
