"""Planned absences (S7): recorded by a keyworker or a prescriber, through the API and the page.

The absence's slots are cancelled and its days are not counted as missed; a return after the
clinic's absence threshold (3 days by default) needs a prescriber's review and restart dose,
decided at dose time with the scheduled jobs NOT run. The board shows who is away.
"""

import datetime
import html
from decimal import Decimal

import pytest
import time_machine

from dosing import services
from dosing.models import DosingSettings, Hold, PlannedAbsence, Session, Slot, SlotStatus
from tests.factories import SlotFactory

from .conftest import TODAY, at, check, check_and_dose
from .test_api import good_check, good_dose, post, refusal
from .test_pages import good_check as page_check
from .test_pages import good_dose as page_dose
from .test_pages import refused

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
RECORDED = at(TODAY - 4 * DAY, 7, 0)  # Saturday 14 Nov, before the morning session
BACK = "S7 · No dose: back after 3 days away (holiday, 15 Nov to 17 Nov); prescriber review required"


def text(response) -> str:
    return html.unescape(response.content.decode())


def slots_from(prescription, first, last):
    """The slot job ran ahead of time; after that no job ran."""
    day = first
    while day <= last:
        for session in (Session.MORNING, Session.AFTERNOON):
            SlotFactory(prescription=prescription, date=day, session=session)
        day += DAY


def absence(starts_on, ends_on, reason="holiday"):
    return {"starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(), "reason": reason, "notes": ""}


@pytest.fixture
def away_then_back(client_for, prescription, keyworker):
    """Slots made from 14 to 18 Nov; on 14 Nov the keyworker records a holiday from 15 to 17 Nov."""
    slots_from(prescription, TODAY - 4 * DAY, TODAY)
    with time_machine.travel(RECORDED, tick=False):
        response = post(client_for(keyworker), "/api/v1/dosing/absences/",
                        {"patient": prescription.patient_id, **absence(TODAY - 3 * DAY, TODAY - DAY)})  # fmt: skip
    assert response.status_code == 201, response.content
    return Slot.objects.get(date=TODAY, session=Session.MORNING)


def test_recording_an_absence_through_the_api_cancels_its_slots_and_the_job_makes_none(
    client_for, prescription, keyworker, nurse
):
    slots_from(prescription, TODAY - 4 * DAY, TODAY - 3 * DAY)
    with time_machine.travel(RECORDED, tick=False):
        url = "/api/v1/dosing/absences/"
        body = {"patient": prescription.patient_id, **absence(TODAY - 3 * DAY, TODAY - DAY)}
        assert post(client_for(nurse), url, body).status_code == 403
        response = post(client_for(keyworker), url, body)
        assert response.status_code == 201, response.content
        assert response.json()["days"] == 3
        assert services.create_slots(now=RECORDED, days_ahead=4) == 2, "only 18 Nov: the days away get no slot"
        refusal(post(client_for(keyworker), url, body), "S7", "starts_on")  # already away then
        past = {"patient": prescription.patient_id, **absence(TODAY - 5 * DAY, TODAY - 5 * DAY)}
        message = refusal(post(client_for(keyworker), url, past), "S7", "starts_on")
        assert "days already missed count as missed" in message
    assert {(s.date, s.status) for s in Slot.objects.filter(date__lt=TODAY)} == {
        (TODAY - 4 * DAY, SlotStatus.SCHEDULED),
        (TODAY - 3 * DAY, SlotStatus.CANCELLED),
    }
    listed = client_for(nurse).get(f"/api/v1/dosing/absences/?patient={prescription.patient_id}").json()
    assert [(row["reason"], row["days"]) for row in listed] == [("holiday", 3)]


def test_recording_an_absence_through_the_page(client_for, prescription, patient, keyworker, nurse, prescriber):
    url = f"/dosing/patients/{patient.pk}/absences/"
    with time_machine.travel(RECORDED, tick=False):
        form = {"reason": "hospital", "starts_on": "2026-11-15", "ends_on": "2026-11-16", "notes": "Planned surgery"}
        assert client_for(nurse).post(url, form).status_code == 403
        assert "Record an absence" not in text(client_for(nurse).get(url))
        refused(client_for(keyworker).post(url, {**form, "starts_on": "2026-11-13"}), "S7", "starts_on")
        assert client_for(prescriber).post(url, form).status_code == 302
        page = text(client_for(keyworker).get(url))
    assert "15 Nov 2026 to 16 Nov 2026 (2 days)" in page and "Hospital admission: Planned surgery" in page
    assert PlannedAbsence.objects.get().recorded_by == prescriber
    assert "Planned absences" in text(client_for(keyworker).get(f"/patients/{patient.pk}/"))


def test_the_board_shows_who_is_away(client_for, slot, prescription, patient, keyworker, nurse):
    with time_machine.travel(at(TODAY, 7, 0), tick=False):
        court = {"patient": patient.pk, **absence(TODAY, TODAY + DAY, "court")}
        assert post(client_for(keyworker), "/api/v1/dosing/absences/", court).status_code == 201
        board = text(client_for(nurse).get("/dosing/board/"))
    assert "Away (1)" in board and "Sam Taylor: court until Thu 19 Nov" in board


def test_s7_a_return_after_three_days_away_needs_a_review_through_the_api(
    client_for, away_then_back, nurse, second_nurse, prescriber
):
    slot = away_then_back
    with time_machine.travel(at(TODAY, 9, 0), tick=False):
        assert refusal(post(client_for(nurse), f"/api/v1/dosing/slots/{slot.pk}/checks/", good_check()), "S7") == BACK
        hold = Hold.objects.get(cleared_at__isnull=True)
        assert hold.reason == BACK
        cleared = post(client_for(prescriber), f"/api/v1/dosing/holds/{hold.pk}/clear/",
                       {"morning_dose_mg": "50", "afternoon_dose_mg": "50"})  # fmt: skip
        assert cleared.status_code == 200, cleared.content
        assert post(client_for(nurse), f"/api/v1/dosing/slots/{slot.pk}/checks/", good_check()).status_code == 201
        given = post(client_for(nurse), f"/api/v1/dosing/slots/{slot.pk}/administration/",
                     {**good_dose(second_nurse), "dose_mg": "50"})  # fmt: skip
        assert given.status_code == 201, given.content


def test_s7_a_return_after_three_days_away_needs_a_review_through_the_page(
    client_for, away_then_back, nurse, second_nurse
):
    slot = away_then_back
    with time_machine.travel(at(TODAY, 9, 0), tick=False):
        words = BACK.removeprefix("S7 · ")  # pages show the sentence, not the rule code
        assert words in refused(client_for(nurse).post(f"/dosing/slots/{slot.pk}/check/", page_check()), "S7")
        assert words in refused(client_for(nurse).post(f"/dosing/slots/{slot.pk}/dose/", good_dose(second_nurse)), "S7")


def test_s7_days_away_do_not_count_as_missed(client_for, prescription, slot, keyworker, nurse, second_nurse):
    """Missed 15 Nov (the job never ran), away 16-17 Nov: one day missed, a short absence; no hold."""
    slots_from(prescription, TODAY - 3 * DAY, TODAY - DAY)
    with time_machine.travel(at(TODAY - 3 * DAY, 7, 0), tick=False):
        response = post(client_for(keyworker), "/api/v1/dosing/absences/",
                        {"patient": prescription.patient_id, **absence(TODAY - 2 * DAY, TODAY - DAY)})  # fmt: skip
        assert response.status_code == 201
    with time_machine.travel(at(TODAY, 9, 0), tick=False):
        assert check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 9, 0)).dose_mg == Decimal(100)
    assert not Hold.objects.exists()


def test_s7_the_absence_threshold_is_a_clinic_setting(client_for, clinic, prescription, slot, keyworker, nurse):
    DosingSettings.objects.filter(clinic=clinic).update(absence_review_days=2)
    slots_from(prescription, TODAY - 2 * DAY, TODAY - DAY)
    with time_machine.travel(at(TODAY - 2 * DAY, 7, 0), tick=False):
        post(client_for(keyworker), "/api/v1/dosing/absences/",
             {"patient": prescription.patient_id, **absence(TODAY - 2 * DAY, TODAY - DAY, "custody")})  # fmt: skip
    with pytest.raises(Exception, match="back after 2 days away"):
        check(slot, nurse, now=at(TODAY, 9, 0))


LOOK_BACK_FIRST = TODAY - DAY - 21 * DAY  # dosing.services.holds.s7_look_back of the days before TODAY


EDGES = [
    (LOOK_BACK_FIRST - 3 * DAY, LOOK_BACK_FIRST - DAY, False),  # ends the day before the look-back
    (LOOK_BACK_FIRST - 2 * DAY, LOOK_BACK_FIRST, True),  # its last day is the look-back's first
    (TODAY - 3 * DAY, TODAY - DAY, True),  # its last day is the look-back's last
]


@pytest.mark.parametrize("path", ["api dose", "page dose", "api check", "page check"])
@pytest.mark.parametrize(("starts_on", "ends_on", "refused_by_s7"), EDGES)
def test_s7_an_absence_on_either_edge_of_the_look_back_is_seen_on_every_path(
    client_for, prescription, slot, nurse, second_nurse, keyworker, starts_on, ends_on, refused_by_s7, path
):
    """The check and the dose ask in their facts whether any absence touches S7's look-back, and read none when
    not: that shortcut must answer as the full reading does (hold_due reading the absences itself), on both
    edges, through the API and the pages."""
    from dosing.services.holds import hold_due

    if "dose" in path:
        check(slot, nurse, now=at(TODAY, 8, 30))  # before the absence is known: the dose alone decides
    PlannedAbsence.objects.create(patient=prescription.patient, starts_on=starts_on, ends_on=ends_on,
                                  reason="holiday", recorded_by=keyworker, recorded_at=RECORDED)  # fmt: skip
    full_reading = hold_due(patient=prescription.patient, prescription=prescription,
                            settings=DosingSettings.for_clinic(slot.clinic), up_to=TODAY - DAY,
                            now=at(TODAY, 9, 0))  # fmt: skip
    assert (full_reading is not None) == refused_by_s7
    client = client_for(nurse)

    with time_machine.travel(at(TODAY, 9, 0), tick=False):
        if path == "api dose":
            response = post(client, f"/api/v1/dosing/slots/{slot.pk}/administration/", good_dose(second_nurse))
        elif path == "page dose":
            response = client.post(f"/dosing/slots/{slot.pk}/dose/", page_dose(second_nurse))
        elif path == "api check":
            response = post(client, f"/api/v1/dosing/slots/{slot.pk}/checks/", good_check())
        else:
            response = client.post(f"/dosing/slots/{slot.pk}/check/", page_check())

    if not refused_by_s7:
        assert response.status_code in (201, 302), response.content
    elif path.startswith("api"):
        assert refusal(response, "S7") == f"S7 · {full_reading.sentence}"
    else:
        assert full_reading.sentence in refused(response, "S7")
