"""Flags at a glance on the board (issue 14, item 3): what a nurse must notice before dosing, in words and an icon.

Each flag is computed in the board's own query (no query per row), follows its facts (a dose
given ends "first dose", "restart" and "back from absence") and changes the board's version, so
an open tablet shows it at its next poll (the version: tests/dosing/test_board_version.py).
"""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dosing.models import CheckOutcome, Hold, PlannedAbsence, Session
from dosing.selectors import Flag, board_for
from patients import selectors as patient_selectors
from patients import services as patient_services
from tests.factories import PatientFactory, PrescriptionFactory, SlotFactory, TreatmentConsentFactory

from .conftest import TODAY, at, check, check_and_dose
from .test_board import board_queries, fill_clinic
from .test_licences import lapse

pytestmark = pytest.mark.django_db

YESTERDAY = TODAY - datetime.timedelta(days=1)
NOW = at(TODAY, 9, 0)


def flags_of(clinic, now=NOW) -> list[str]:
    (row,) = board_for(clinic, now=now).rows
    return row.flags


@pytest.fixture
def dosed_yesterday(prescription, nurse, second_nurse):
    """The patient had a dose yesterday morning: no 'first dose' today."""
    check_and_dose(SlotFactory(prescription=prescription, date=YESTERDAY), nurse, second_nurse, now=at(YESTERDAY, 9))
    return prescription


def test_a_patient_never_dosed_is_flagged_first_dose_until_the_first_dose_is_given(clinic, slot, nurse, second_nurse):
    assert flags_of(clinic) == [Flag.FIRST_DOSE]

    check_and_dose(slot, nurse, second_nurse, now=NOW)
    assert flags_of(clinic, now=at(TODAY, 9, 5)) == [Flag.FIRST_DOSE]  # still this session's row: it was the first
    SlotFactory(prescription=slot.prescription, date=TODAY, session=Session.AFTERNOON)
    assert flags_of(clinic, now=at(TODAY, 16, 0)) == []  # the afternoon: a dose was given before


def test_a_patient_dosed_before_on_an_ordinary_prescription_has_no_flag(clinic, dosed_yesterday):
    SlotFactory(prescription=dosed_yesterday, date=TODAY)
    assert flags_of(clinic) == []


def test_a_titration_step_is_flagged(clinic, patient, prescriber):
    SlotFactory(prescription=PrescriptionFactory(patient=patient, prescriber=prescriber, is_titration=True), date=TODAY)
    assert Flag.TITRATION in flags_of(clinic)


def test_the_first_dose_after_a_cleared_hold_is_flagged_restart(clinic, dosed_yesterday, prescriber):
    Hold.objects.create(
        patient=dosed_yesterday.patient, prescription=dosed_yesterday, since=at(YESTERDAY, 19), missed_days=3,
        missed_since=YESTERDAY, reason="3 days missed", cleared_at=at(TODAY, 7, 30), cleared_by=prescriber,
        restart_prescription=dosed_yesterday,
    )  # fmt: skip
    SlotFactory(prescription=dosed_yesterday, date=TODAY)
    assert flags_of(clinic) == [Flag.RESTART]


def test_the_first_dose_after_a_planned_absence_is_flagged_until_a_dose_is_given(
    clinic, dosed_yesterday, keyworker, nurse, second_nurse
):
    tomorrow = TODAY + datetime.timedelta(days=1)
    PlannedAbsence.objects.create(
        patient=dosed_yesterday.patient, starts_on=TODAY - datetime.timedelta(days=10),
        ends_on=TODAY - datetime.timedelta(days=2), reason="family", recorded_by=keyworker,
        recorded_at=at(YESTERDAY, 9),
    )  # fmt: skip
    # The dose of yesterday came after the absence: nothing to flag today.
    SlotFactory(prescription=dosed_yesterday, date=TODAY)
    assert flags_of(clinic) == []

    PlannedAbsence.objects.create(
        patient=dosed_yesterday.patient, starts_on=TODAY, ends_on=TODAY, reason="family",
        recorded_by=keyworker, recorded_at=at(YESTERDAY, 9),
    )  # fmt: skip
    SlotFactory(prescription=dosed_yesterday, date=tomorrow)
    assert flags_of(clinic, now=at(tomorrow, 9)) == [Flag.BACK_FROM_ABSENCE]


def test_a_withdrawn_absence_is_not_a_return(clinic, dosed_yesterday, keyworker):
    PlannedAbsence.objects.create(
        patient=dosed_yesterday.patient, starts_on=YESTERDAY, ends_on=YESTERDAY, reason="family",
        recorded_by=keyworker, recorded_at=at(YESTERDAY, 7), withdrawn_at=at(YESTERDAY, 8), withdrawn_by=keyworker,
    )  # fmt: skip
    SlotFactory(prescription=dosed_yesterday, date=TODAY)
    assert flags_of(clinic) == []


def test_a_reduced_dose_authorised_for_the_session_is_flagged(clinic, dosed_yesterday, prescriber):
    slot = SlotFactory(prescription=dosed_yesterday, date=TODAY)
    check(slot, prescriber, outcome=CheckOutcome.REDUCED, reduced_dose_mg=Decimal("40"))
    assert flags_of(clinic, now=at(TODAY, 9, 5)) == [Flag.REDUCED]


def test_a_lapsed_licence_is_flagged(clinic, dosed_yesterday, prescriber):
    SlotFactory(prescription=dosed_yesterday, date=TODAY)
    lapse(prescriber, clinic, TODAY)
    assert flags_of(clinic) == [Flag.LICENCE_REVIEW]


def test_a_clinical_alert_on_the_record_is_flagged_first_and_kept_in_the_history(clinic, dosed_yesterday, keyworker):
    SlotFactory(prescription=dosed_yesterday, date=TODAY)

    patient_services.patient_update(
        patient=dosed_yesterday.patient, updated_by=keyworker, clinical_alert="Allergic to latex"
    )

    lapse(dosed_yesterday.prescriber, clinic, TODAY)
    assert flags_of(clinic) == [Flag.CLINICAL_ALERT, Flag.LICENCE_REVIEW]
    newest = patient_selectors.change_history(dosed_yesterday.patient)[0]  # the change is kept, with who made it
    assert ("allergies and clinical alerts", "", "Allergic to latex") in newest.changes
    assert newest.who == keyworker


def test_the_board_page_shows_each_flag_in_words_with_an_icon(client_for, clinic, patient, prescriber, nurse):
    patient_services.patient_update(patient=patient, updated_by=prescriber, clinical_alert="Seizure history")
    SlotFactory(prescription=PrescriptionFactory(patient=patient, prescriber=prescriber, is_titration=True), date=TODAY)

    with time_machine.travel(NOW, tick=False):
        page = client_for(nurse).get("/dosing/board/").content.decode()

    assert 'aria-label="Flags for Sam Taylor"' in page
    for words in ("Alert: Seizure history", "First dose", "Titration step"):
        assert f"</span> {words}</li>" in page  # the icon (hidden from screen readers) and the words
    assert page.count('class="icon" aria-hidden="true">★</span>') == 1


def test_the_api_board_lists_the_flags(client_for, clinic, slot, nurse):
    with time_machine.travel(NOW, tick=False):
        (row,) = client_for(nurse).get("/api/v1/dosing/board/").json()["rows"]
    assert row["flags"] == [Flag.FIRST_DOSE]


def test_the_row_version_changes_when_a_flag_changes_so_an_open_tablet_redraws_it(clinic, patient, slot, keyworker):
    from dosing.presentation import board_view

    before = board_view(board_for(clinic, now=NOW))["rows"][0].version
    patient_services.patient_update(patient=patient, updated_by=keyworker, clinical_alert="Allergic to latex")
    after = board_view(board_for(clinic, now=NOW))["rows"][0].version
    assert before != after


def test_flags_cost_no_query_per_row_the_same_for_5_and_50_patients(clinic, prescriber, keyworker, nurse):
    from tests.factories import StaffFactory

    witness = StaffFactory(roles=["nurse"], clinics=[clinic])

    def flag_some(count):
        for index, slot in enumerate(
            SlotFactory(
                prescription=PrescriptionFactory(
                    patient=_patient(clinic, keyworker), prescriber=prescriber, is_titration=bool(index % 2)
                ),
                date=TODAY,
            )
            for index in range(count)
        ):
            if index % 3 == 0:
                patient_services.patient_update(patient=slot.patient, updated_by=keyworker, clinical_alert="Latex")

    fill_clinic(clinic, prescriber, keyworker, nurse, witness, 3)
    flag_some(2)
    small, small_queries = board_queries(clinic, NOW)
    with CaptureQueriesContext(connection):
        fill_clinic(clinic, prescriber, keyworker, nurse, witness, 27)
        flag_some(18)
    large, large_queries = board_queries(clinic, NOW)

    assert (len(small.rows), len(large.rows)) == (5, 50)
    assert {flag for row in large.rows for flag in row.flags} >= {Flag.TITRATION, Flag.CLINICAL_ALERT, Flag.FIRST_DOSE}
    assert small_queries == large_queries

    from dosing.presentation import board_view

    with CaptureQueriesContext(connection) as rendering:
        board_view(large)
    assert len(rendering) == 0


def _patient(clinic, keyworker):
    patient = PatientFactory(clinic=clinic)
    TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
    return patient


def test_a_patient_in_maintenance_without_a_recorded_dose_is_not_a_first_dose(clinic, patient, slot):
    """Doses given before this system (paper records, another service) are not recorded here."""
    type(patient).objects.filter(pk=patient.pk).update(status="maintenance")
    assert flags_of(clinic) == []


def test_the_slot_pages_show_the_same_flags_as_the_board(client_for, clinic, patient, prescriber, nurse):
    """Issue 14.3: the flags are on the board row and on the slot page (and the forms opened from it)."""
    patient_services.patient_update(patient=patient, updated_by=prescriber, clinical_alert="Seizure history")
    slot = SlotFactory(
        prescription=PrescriptionFactory(patient=patient, prescriber=prescriber, is_titration=True), date=TODAY
    )

    with time_machine.travel(NOW, tick=False):
        client = client_for(nurse)
        pages = [client.get(f"/dosing/slots/{slot.pk}/"), client.get(f"/dosing/slots/{slot.pk}/check/")]

    for response in pages:
        page = response.content.decode()
        assert response.status_code == 200
        assert 'aria-label="Flags for Sam Taylor"' in page
        for words in ("Alert: Seizure history", "First dose", "Titration step"):
            assert f"</span> {words}</li>" in page
