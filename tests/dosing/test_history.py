"""The dose and attendance history: what a prescriber sees before clearing a hold or stepping up a dose."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dosing import services
from dosing.history import dose_history
from dosing.models import Hold, Session, SlotStatus
from patients.models import AccessLogEntry, AccessPart
from tests.factories import SlotFactory
from tests.factories.clinics import PASSWORD

from .conftest import TODAY, at, check_and_dose

YESTERDAY = TODAY - datetime.timedelta(days=1)
TWO_DAYS_AGO = TODAY - datetime.timedelta(days=2)


@pytest.fixture
def past_days(prescription, nurse, second_nurse):
    """Two days ago: morning 100 mg corrected to 80 mg, afternoon missed. Yesterday: withheld, refused."""
    morning = SlotFactory(prescription=prescription, date=TWO_DAYS_AGO, session=Session.MORNING)
    given = check_and_dose(morning, nurse, second_nurse, now=at(TWO_DAYS_AGO, 9))
    services.correct_administration(
        administration=given,
        author=nurse,
        reason="Part of the dose was spilled",
        dose_mg=Decimal("80"),
        route=given.route,
        injection_site=given.injection_site,
        given_at=given.given_at,
        witness=second_nurse,
        witness_password=PASSWORD,
        now=at(TWO_DAYS_AGO, 9, 30),
    )
    SlotFactory(prescription=prescription, date=TWO_DAYS_AGO, session=Session.AFTERNOON)
    services.close_missed_slots(now=at(TWO_DAYS_AGO, 18, 5))
    withheld = SlotFactory(prescription=prescription, date=YESTERDAY, session=Session.MORNING)
    services.withhold_dose(slot=withheld, nurse=nurse, reason="Breath alcohol over the limit", now=at(YESTERDAY, 9))
    refused = SlotFactory(prescription=prescription, date=YESTERDAY, session=Session.AFTERNOON)
    services.record_refusal(slot=refused, nurse=nurse, reason="Did not want it", now=at(YESTERDAY, 16))
    return prescription


def _cells(history, day):
    row = next(row for row in history.days if row.date == day)
    return {cell.session: cell for cell in row.cells}


def test_history_shows_each_session_in_its_own_words(past_days, patient, slot):
    history = dose_history(patient, end=TODAY, days=28)

    assert len(history.days) == 28 and history.days[0].date == TODAY
    two_days_ago = _cells(history, TWO_DAYS_AGO)
    assert two_days_ago["morning"].state == "partial"  # 80 of the 100 mg prescribed
    assert two_days_ago["morning"].dose_mg == Decimal("80")  # the correction in force, not the original 100 mg
    assert "spilled" in two_days_ago["morning"].detail
    assert two_days_ago["afternoon"].state == "missed"
    yesterday = _cells(history, YESTERDAY)
    assert (yesterday["morning"].state, yesterday["morning"].detail) == ("withheld", "Breath alcohol over the limit")
    assert yesterday["afternoon"].state == "refused"
    assert _cells(history, TODAY)["morning"].state == "expected"
    assert _cells(history, TODAY - datetime.timedelta(days=10))["morning"].state == "none"
    assert history.counts["partial"] == 1 and history.counts["missed"] == 1


def test_days_on_hold_read_as_held_not_missed(prescription, patient):
    held_day = YESTERDAY
    SlotFactory(prescription=prescription, date=held_day, session=Session.MORNING, status=SlotStatus.MISSED)
    Hold.objects.create(
        patient=patient,
        prescription=prescription,
        since=at(TWO_DAYS_AGO, 18),
        missed_since=TWO_DAYS_AGO - datetime.timedelta(days=2),
        missed_days=3,
        reason="3 consecutive days missed",
    )

    cells = _cells(dose_history(patient, end=TODAY, days=7), held_day)

    assert cells["morning"].state == "held"
    assert cells["afternoon"].state == "held"  # no slot that session, but the patient could not have been dosed


def test_history_reads_a_fixed_number_of_queries_whatever_the_range(past_days, patient):
    with CaptureQueriesContext(connection) as short:
        dose_history(patient, end=TODAY, days=3)
    with CaptureQueriesContext(connection) as long:
        dose_history(patient, end=TODAY, days=366)
    assert len(short) == len(long) <= 3


@time_machine.travel(at(TODAY, 11), tick=False)
def test_prescriber_sees_the_history_on_the_record_the_prescriptions_and_the_hold_review(
    client, past_days, patient, prescriber
):
    hold = Hold.objects.create(
        patient=patient,
        prescription=past_days,
        since=at(TODAY, 10),
        missed_since=YESTERDAY,
        missed_days=3,
        reason="3 consecutive days missed",
    )
    client.force_login(prescriber)
    pages = [
        reverse("patient-detail", args=[patient.pk]),
        reverse("dosing-patient-prescriptions", args=[patient.pk]),
        reverse("dosing-hold-clear", args=[hold.pk]),
        reverse("dosing-patient-history", args=[patient.pk]) + "?days=90",
    ]
    for url in pages:
        page = client.get(url).content.decode()
        assert "Doses and attendance" in page, url
        assert "80 mg" in page and "Breath alcohol over the limit" in page, url


@time_machine.travel(at(TODAY, 11), tick=False)
def test_the_staff_api_answers_the_same_history_and_logs_the_read(client, past_days, patient, nurse):
    client.force_login(nurse)

    answer = client.get(reverse("api-dosing-patient-history", args=[patient.pk]), {"days": 3})

    assert answer.status_code == 200
    body = answer.json()
    assert [day["date"] for day in body["days"]] == [str(TODAY), str(YESTERDAY), str(TWO_DAYS_AGO)]
    morning = body["days"][2]["cells"][0]
    assert (morning["session"], morning["state"], Decimal(morning["dose_mg"])) == ("morning", "partial", Decimal("80"))
    assert AccessLogEntry.objects.filter(patient=patient, user=nurse, what=AccessPart.DOSING).count() == 1


@pytest.mark.parametrize("days", ["0", "367", "many"])
def test_a_range_out_of_bounds_is_refused_naming_it(client, patient, nurse, days):
    client.force_login(nurse)

    api = client.get(reverse("api-dosing-patient-history", args=[patient.pk]), {"days": days})
    page = client.get(reverse("dosing-patient-history", args=[patient.pk]), {"days": days})

    assert api.status_code == 400 and "days" in api.content.decode()
    assert page.status_code == 400 and "range" in page.content.decode()


def test_another_clinics_patient_and_a_keyworker_are_refused(client, patient, other_nurse, keyworker):
    client.force_login(other_nurse)
    assert client.get(reverse("api-dosing-patient-history", args=[patient.pk])).status_code == 404
    assert client.get(reverse("dosing-patient-history", args=[patient.pk])).status_code == 404
    client.force_login(keyworker)  # no dosing role: the record shows no dose history
    assert client.get(reverse("api-dosing-patient-history", args=[patient.pk])).status_code == 403
    assert "Doses and attendance" not in client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
