"""The dosing board: the current session's rows in a fixed number of queries."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dosing import services
from dosing.models import Hold, Session, SignOutState
from dosing.selectors import Stage, board_for, current_session
from tests.factories import PatientFactory, PrescriptionFactory, SlotFactory, StaffFactory, TreatmentConsentFactory

from .conftest import TODAY, at, check, check_and_dose

pytestmark = pytest.mark.django_db


def fill_clinic(clinic, prescriber, keyworker, nurse, witness, count):
    """`count` patients in this morning's session, spread over every stage of the board."""
    for index in range(count):
        patient = PatientFactory(clinic=clinic)
        TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
        slot = SlotFactory(
            prescription=PrescriptionFactory(patient=patient, prescriber=prescriber),
            date=TODAY,
            session=Session.MORNING,
        )
        stage = index % 5
        if stage == 1:
            check(slot, nurse, now=at(TODAY, 8, 30))
        elif stage in (2, 3):
            given = check_and_dose(slot, nurse, witness, now=at(TODAY, 8, 30))
            if stage == 3:
                services.sign_out_after_observation(
                    administration=given, signed_out_by=nurse, state=SignOutState.WELL, now=at(TODAY, 8, 50)
                )
        elif stage == 4:
            Hold.objects.create(
                patient=patient,
                prescription=slot.prescription,
                since=at(TODAY, 7, 0),
                missed_since=TODAY - datetime.timedelta(days=3),
                missed_days=3,
                reason="S7 · test",
            )


def board_queries(clinic, now):
    fresh = type(clinic).objects.get(pk=clinic.pk)
    seen = []
    with CaptureQueriesContext(connection) as queries:
        board = board_for(fresh, now=now)
        for row in board.rows:  # everything a page would read
            seen.append((row.patient.display_name, row.photo_url, row.prescribed_dose_mg, row.stage, row.hold))
            seen.append((row.check and row.check.outcome, row.administration and row.administration.nurse_id))
            seen.append(
                (row.observation_seconds_left, row.sign_out, row.administration and row.administration.witness_id)
            )
    return board, len(queries)


def test_the_board_uses_the_same_number_of_queries_for_5_and_150_patients(clinic, prescriber, keyworker, nurse):
    witness = StaffFactory(roles=["nurse"], clinics=[clinic])
    now = at(TODAY, 9, 0)
    fill_clinic(clinic, prescriber, keyworker, nurse, witness, 5)
    small, small_queries = board_queries(clinic, now)
    fill_clinic(clinic, prescriber, keyworker, nurse, witness, 145)
    large, large_queries = board_queries(clinic, now)

    assert (len(small.rows), len(large.rows)) == (5, 150)
    assert small_queries == large_queries <= 5


def test_the_board_shows_each_patient_stage_dose_and_observation_countdown(
    clinic, slot, prescriber, keyworker, nurse, second_nurse
):
    given = check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 9, 0))  # given 09:02

    board = board_for(clinic, now=at(TODAY, 9, 10))
    (row,) = board.rows
    assert (board.session.session, row.stage, row.prescribed_dose_mg) == (Session.MORNING, Stage.UNDER_OBSERVATION, 100)
    assert row.observation_ends_at == at(TODAY, 9, 17)
    assert row.observation_seconds_left == 7 * 60

    assert board_for(clinic, now=at(TODAY, 9, 20)).rows[0].stage == Stage.OBSERVATION_OVER
    services.sign_out_after_observation(
        administration=given, signed_out_by=nurse, state=SignOutState.WELL, now=at(TODAY, 9, 20)
    )
    assert board_for(clinic, now=at(TODAY, 9, 21)).rows[0].stage == Stage.SIGNED_OUT


def test_the_board_shows_a_correction_in_force(clinic, slot, nurse, second_nurse):
    from tests.factories.clinics import PASSWORD

    given = check_and_dose(slot, nurse, second_nurse)
    services.correct_administration(
        administration=given,
        author=second_nurse,
        reason="Wrong amount recorded",
        dose_mg=Decimal("80"),
        route="iv",
        injection_site="left_arm",
        given_at=given.given_at,
        witness=nurse,
        witness_password=PASSWORD,
        now=at(TODAY, 9, 30),
    )
    (row,) = board_for(clinic, now=at(TODAY, 9, 31)).rows
    assert (row.administration.dose_mg, row.original_administration.dose_mg) == (80, 100)


def test_the_current_session_is_the_running_one_then_the_next(clinic):
    assert current_session(clinic, now=at(TODAY, 7, 0)).session == Session.MORNING
    assert current_session(clinic, now=at(TODAY, 10, 40)).session == Session.MORNING  # observations still running
    assert current_session(clinic, now=at(TODAY, 10, 50)).session == Session.AFTERNOON
    tomorrow = current_session(clinic, now=at(TODAY, 18, 30))
    assert (tomorrow.date, tomorrow.session) == (TODAY + datetime.timedelta(days=1), Session.MORNING)
