"""SPEC 8: the dosing pages and API write the patient access log.

Each page or API read about one patient's dosing or prescriptions leaves exactly one entry (who,
which patient, which part, through which channel); a refused request (404 for another clinic's
patient, 403 for a missing permission, 400 for a malformed query) and a write leave none; the board,
a list of everyone polled every few seconds, leaves none, and the photos it shows are logged once
per member of staff, patient and quarter hour, not once per load.
"""

import datetime
import html

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dosing.models import Hold
from patients.models import AccessLogEntry
from patients.services import patient_photo_set
from tests.factories.clinics import PASSWORD
from tests.patients.conftest import image_upload

from .conftest import MORNING, TODAY, at, check, check_and_dose

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def given(slot, nurse, second_nurse):
    """This morning's dose, given before the clock of the test (09:00)."""
    return check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 40))


@pytest.fixture
def hold(slot, prescription):
    return Hold.objects.create(
        patient=slot.patient, prescription=prescription, since=at(TODAY, 7, 0), missed_days=3,
        missed_since=datetime.date(2026, 11, 14), reason="S7 · No dose: 3 consecutive days missed since 14 Nov",
    )  # fmt: skip


def logged() -> list[tuple]:
    return list(AccessLogEntry.objects.order_by("pk").values_list("user", "patient", "what", "channel"))


SLOT_PAGES = [
    "/dosing/slots/{slot}/",
    "/dosing/slots/{slot}/check/",
    "/dosing/slots/{slot}/dose/",
    "/dosing/slots/{slot}/refuse/",
    "/dosing/slots/{slot}/withhold/",
    "/dosing/administrations/{given}/sign-out/",
    "/dosing/administrations/{given}/adverse-event/",
    "/dosing/administrations/{given}/correct/",
]
PRESCRIPTION_PAGES = [
    "/dosing/patients/{patient}/prescriptions/",
    "/dosing/patients/{patient}/prescriptions/new/",
    "/dosing/prescriptions/{prescription}/change/",
    "/dosing/prescriptions/{prescription}/change/?titration=1",
    "/dosing/prescriptions/{prescription}/stop/",
    "/dosing/holds/{hold}/",
]
API_READS = {
    "/api/v1/dosing/slots/{slot}/": "dosing",
    "/api/v1/dosing/prescriptions/?patient={patient}": "prescriptions",
}


@pytest.fixture
def path_to(slot, given, hold):
    def path_to(template: str) -> str:
        return template.format(
            slot=slot.pk, given=given.pk, patient=slot.patient_id, prescription=slot.prescription_id, hold=hold.pk
        )

    return path_to


# --- Each read leaves one entry ----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", SLOT_PAGES)
def test_a_nurse_opening_a_slot_page_leaves_one_dosing_entry(client_for, nurse, slot, path_to, page):
    response = client_for(nurse).get(path_to(page))

    assert response.status_code == 200
    assert logged() == [(nurse.pk, slot.patient_id, "dosing", "ui")]


@pytest.mark.parametrize("page", PRESCRIPTION_PAGES)
def test_a_prescriber_opening_a_prescriptions_page_leaves_one_prescriptions_entry(
    client_for, prescriber, slot, path_to, page
):
    response = client_for(prescriber).get(path_to(page))

    assert response.status_code == 200
    assert logged() == [(prescriber.pk, slot.patient_id, "prescriptions", "ui")]


def test_a_nurse_reading_the_prescriptions_is_logged_too(client_for, nurse, patient):
    assert client_for(nurse).get(f"/dosing/patients/{patient.pk}/prescriptions/").status_code == 200
    assert logged() == [(nurse.pk, patient.pk, "prescriptions", "ui")]


@pytest.mark.parametrize(("endpoint", "part"), API_READS.items())
def test_an_api_read_of_one_patient_leaves_one_api_entry(client_for, prescriber, slot, path_to, endpoint, part):
    response = client_for(prescriber).get(path_to(endpoint))

    assert response.status_code == 200
    assert logged() == [(prescriber.pk, slot.patient_id, part, "api")]


def test_the_slot_page_adds_one_insert_and_nothing_else_writes(client_for, nurse, slot, given):
    client = client_for(nurse)
    client.get("/dosing/board/")  # warm the session

    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/dosing/slots/{slot.pk}/").status_code == 200

    writes = [query["sql"] for query in captured if not query["sql"].lstrip().upper().startswith("SELECT")]
    assert len(writes) == 1 and writes[0].startswith('INSERT INTO "patients_accesslogentry"'), writes


def test_the_manager_sees_dosing_views_on_the_patients_access_log(client_for, manager, nurse, prescriber, slot):
    client_for(nurse).get(f"/dosing/slots/{slot.pk}/")
    client_for(prescriber).get(f"/api/v1/dosing/prescriptions/?patient={slot.patient_id}")

    response = client_for(manager).get(reverse("patient-access-log", args=[slot.patient_id]))

    assert response.status_code == 200
    entries = [(entry.user, entry.what, entry.channel) for entry in response.context["page"].object_list]
    assert entries == [(manager, "access_log", "ui"), (prescriber, "prescriptions", "api"), (nurse, "dosing", "ui")]
    page = html.unescape(response.content.decode())
    assert "Dosing: slot, doses and checks" in page and "Prescriptions and missed-dose hold reviews" in page


# --- Refusals, writes and lists leave none -----------------------------------------------------------------------


@pytest.mark.parametrize("page", [*SLOT_PAGES, PRESCRIPTION_PAGES[0], *API_READS])
def test_another_clinics_nurse_gets_404_and_leaves_nothing(client_for, other_nurse, path_to, page):
    assert client_for(other_nurse).get(path_to(page)).status_code == 404
    assert logged() == []


@pytest.mark.parametrize("page", PRESCRIPTION_PAGES)
def test_another_clinics_prescriber_gets_404_and_leaves_nothing(client_for, other_prescriber, path_to, page):
    assert client_for(other_prescriber).get(path_to(page)).status_code == 404
    assert logged() == []


@pytest.mark.parametrize("page", ["/dosing/slots/{slot}/", "/dosing/patients/{patient}/prescriptions/", *API_READS])
def test_staff_without_the_dosing_permission_get_403_and_leave_nothing(client_for, keyworker, path_to, page):
    assert client_for(keyworker).get(path_to(page)).status_code == 403
    assert logged() == []


# The hold review is open to a nurse too: the prescriber may clear it with their PIN on her tablet (S7, issue 12).
@pytest.mark.parametrize("page", [page for page in PRESCRIPTION_PAGES[1:] if "/holds/" not in page])
def test_a_nurse_on_a_prescribers_page_gets_403_and_leaves_nothing(client_for, nurse, path_to, page):
    assert client_for(nurse).get(path_to(page)).status_code == 403
    assert logged() == []


def test_a_malformed_query_is_400_and_leaves_nothing(client_for, nurse, patient):
    response = client_for(nurse).get("/api/v1/dosing/prescriptions/?patient=sam")

    assert response.status_code == 400 and "patient" in response.json()["errors"]
    assert logged() == []


def test_recording_a_dose_leaves_no_entry(client_for, nurse, second_nurse, slot):
    check(slot, nurse)
    form = {"dose_mg": "100", "route": "iv", "injection_site": "left_arm", "witness": second_nurse.pk}

    response = client_for(nurse).post(f"/dosing/slots/{slot.pk}/dose/", {**form, "witness_password": PASSWORD})

    assert response.status_code == 302
    assert slot.administrations.count() == 1
    assert logged() == []  # the dose itself is in the change history, not the access log


@pytest.mark.parametrize(
    "page",
    ["/dosing/board/", "/dosing/board/rows/", "/api/v1/dosing/board/", "/dosing/holds/", "/api/v1/dosing/holds/"],
)
def test_the_board_its_poll_and_the_hold_lists_leave_nothing(client_for, prescriber, slot, given, hold, page):
    client = client_for(prescriber)
    for _poll in range(3):
        assert client.get(page).status_code == 200
    assert logged() == []


def test_the_boards_photos_are_logged_once_per_member_of_staff_patient_and_quarter_hour(
    client_for, nurse, second_nurse, keyworker, slot, settings, tmp_path, _morning
):
    settings.MEDIA_ROOT = tmp_path
    patient_photo_set(patient=slot.patient, upload=image_upload(), set_by=keyworker)
    photo = reverse("patient-photo", args=[slot.patient_id])
    client = client_for(nurse)
    # Every dose action brings the nurse back to a fresh board, which fetches each photo again (no-store).
    for _board_load in range(3):
        assert photo in client.get("/dosing/board/").content.decode()
        assert client.get(photo).status_code == 200
    photo_seen_by_nurse = (nurse.pk, slot.patient_id, "photo", "ui")
    assert logged() == [photo_seen_by_nurse]

    assert client_for(second_nurse).get(photo).status_code == 200
    _morning.shift(datetime.timedelta(minutes=14))
    assert client_for(nurse).get(photo).status_code == 200
    assert logged() == [photo_seen_by_nurse, (second_nurse.pk, slot.patient_id, "photo", "ui")]

    _morning.shift(datetime.timedelta(minutes=1))
    assert client_for(nurse).get(photo).status_code == 200
    assert logged()[-1] == photo_seen_by_nurse and len(logged()) == 3
