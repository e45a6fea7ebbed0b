"""S7 decided from the facts at dose time: the scheduled jobs (slot closing, holds) are NOT run here.

A day whose last session window has ended without a dose counts as missed whether or not the
missed-slot job has closed its slots; the hold is then recorded at once, so the prescriber can
review it without waiting for the job.
"""

import datetime

import pytest
import time_machine

from dosing.models import Alert, AlertKind, Hold, PreDoseCheck, Session, SlotStatus
from dosing.rules import RuleViolation
from tests.factories import SlotFactory

from .conftest import MORNING, TODAY, at, check, check_and_dose
from .test_api import good_check, good_dose, post, refusal
from .test_pages import good_check as page_check
from .test_pages import refused

pytestmark = pytest.mark.django_db

SENTENCE = "S7 · No dose: 3 consecutive days missed since 15 Nov; prescriber review required"


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


def slots_made_but_never_closed(prescription, days: int) -> None:
    """The slot job ran ahead of time; then no job ran: the slots of the days before today stay 'scheduled'."""
    for offset in range(1, days + 1):
        for session in (Session.MORNING, Session.AFTERNOON):
            SlotFactory(prescription=prescription, date=TODAY - datetime.timedelta(days=offset), session=session)


def test_s7_three_days_with_the_jobs_stopped_refuse_the_fourth_days_dose_through_the_api(
    client_for, prescription, slot, nurse, second_nurse, prescriber
):
    slots_made_but_never_closed(prescription, 3)
    client = client_for(nurse)

    assert refusal(post(client, f"/api/v1/dosing/slots/{slot.pk}/checks/", good_check()), "S7") == SENTENCE
    assert refusal(post(client, f"/api/v1/dosing/slots/{slot.pk}/administration/", good_dose(second_nurse)), "S7")
    assert not PreDoseCheck.objects.exists()

    # the hold is on record for the prescriber at once, without the job
    hold = Hold.objects.get(patient=slot.patient, cleared_at__isnull=True)
    assert hold.reason == SENTENCE and hold.missed_days == 3
    assert Alert.objects.filter(kind=AlertKind.HOLD, recipient=prescriber, hold=hold).count() == 1
    assert [row["id"] for row in client_for(prescriber).get("/api/v1/dosing/holds/").json()] == [hold.pk]
    cleared = post(client_for(prescriber), f"/api/v1/dosing/holds/{hold.pk}/clear/",
                   {"morning_dose_mg": "50", "afternoon_dose_mg": "50", "notes": "Seen"})  # fmt: skip
    assert cleared.status_code == 200, cleared.content
    assert post(client, f"/api/v1/dosing/slots/{slot.pk}/checks/", good_check()).status_code == 201


def test_s7_three_days_with_the_jobs_stopped_refuse_the_fourth_days_dose_through_the_page(
    client_for, prescription, slot, nurse, second_nurse, prescriber
):
    slots_made_but_never_closed(prescription, 3)
    client = client_for(nurse)

    words = SENTENCE.removeprefix("S7 · ")  # pages show the sentence without the rule code
    assert words in refused(client.post(f"/dosing/slots/{slot.pk}/check/", page_check()), "S7")
    assert words in refused(client.post(f"/dosing/slots/{slot.pk}/dose/", good_dose(second_nurse)), "S7")
    assert "3 consecutive days missed since 15 Nov" in client_for(prescriber).get("/dosing/holds/").content.decode()


def test_s7_one_day_with_the_jobs_stopped_holds_during_titration(prescription, slot, nurse):
    type(prescription).objects.filter(pk=prescription.pk).update(is_titration=True)
    slots_made_but_never_closed(prescription, 1)
    with pytest.raises(RuleViolation) as refusal_info:
        check(slot, nurse)
    assert str(refusal_info.value) == "S7 · No dose: 1 consecutive day missed since 17 Nov; prescriber review required"


def test_s7_two_days_with_the_jobs_stopped_do_not_hold(prescription, slot, nurse, second_nurse):
    slots_made_but_never_closed(prescription, 2)
    assert check_and_dose(slot, nurse, second_nurse).dose_mg == 100
    assert not Hold.objects.exists()


def test_s7_a_day_still_in_progress_is_not_counted(prescription, slot, afternoon_slot, nurse, second_nurse):
    slots_made_but_never_closed(prescription, 2)
    # this morning is missed (its window has ended, the job has not run), but the day is not over
    afternoon = at(TODAY, 15, 45)
    given = check_and_dose(afternoon_slot, nurse, second_nurse, now=afternoon)
    assert given.slot_id == afternoon_slot.pk
    assert slot.status == SlotStatus.SCHEDULED
