"""Prescriptions: signed versions that supersede, dated stops, one live per patient and drug."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from dosing import services
from dosing.models import Drug, Prescription, Route, Slot, SlotStatus
from tests.factories import PrescriptionFactory

from .conftest import MORNING, TODAY, at, check, check_and_dose

pytestmark = pytest.mark.django_db


def create(patient, prescriber, **overrides):
    fields = {
        "drug": Drug.DIAMORPHINE_INJECTABLE,
        "route": Route.INTRAVENOUS,
        "morning_dose_mg": Decimal("80"),
        "afternoon_dose_mg": Decimal("100"),
        "daily_max_mg": Decimal("200"),
        "starts_on": TODAY,
        "now": MORNING,
    }
    fields.update(overrides)
    return services.prescription_create(patient=patient, prescriber=prescriber, **fields)


def test_a_new_prescription_puts_the_patient_on_todays_board_at_once(patient, prescriber):
    prescription = create(patient, prescriber)

    assert prescription.signed_at == MORNING
    assert set(Slot.objects.filter(patient=patient).values_list("date", "session")) == {
        (TODAY, "morning"),
        (TODAY, "afternoon"),
        (TODAY + datetime.timedelta(days=1), "morning"),
        (TODAY + datetime.timedelta(days=1), "afternoon"),
    }


def test_a_change_is_a_new_version_and_the_old_one_is_kept_unchanged(patient, prescriber, nurse, second_nurse):
    first = create(patient, prescriber)
    slot = Slot.objects.get(patient=patient, date=TODAY, session="morning")

    second = services.prescription_change(
        prescription=first, prescriber=prescriber, morning_dose_mg=Decimal("90"), now=at(TODAY, 8, 30)
    )

    first.refresh_from_db()
    assert (first.morning_dose_mg, first.superseded_at) == (Decimal("80"), at(TODAY, 8, 30))
    assert (second.supersedes, second.morning_dose_mg, second.afternoon_dose_mg) == (first, 90, 100)
    assert Slot.objects.get(pk=slot.pk).prescription == second  # today's open slots follow the new dose
    assert check_and_dose(slot, nurse, second_nurse, dose_mg=Decimal("90")).prescription == second


def test_a_titration_step_is_a_flagged_version(patient, prescriber):
    first = create(patient, prescriber, is_titration=True, morning_dose_mg=Decimal("30"), afternoon_dose_mg=None)
    step = services.prescription_change(
        prescription=first, prescriber=prescriber, morning_dose_mg=Decimal("40"), now=at(TODAY, 8, 30)
    )
    assert (step.is_titration, step.supersedes, step.morning_dose_mg) == (True, first, 40)


def test_a_stale_change_is_refused(patient, prescriber):
    first = create(patient, prescriber)
    services.prescription_change(prescription=first, prescriber=prescriber, notes="v2", now=at(TODAY, 8, 30))
    with pytest.raises(ValidationError, match="replaced by a newer version at 08:30"):
        services.prescription_change(prescription=first, prescriber=prescriber, notes="v2 again", now=at(TODAY, 8, 31))


def test_stopping_is_dated_cancels_open_slots_and_is_idempotent(patient, prescriber, nurse):
    prescription = create(patient, prescriber)
    check(Slot.objects.get(patient=patient, date=TODAY, session="morning"), nurse)

    stopped = services.prescription_stop(
        prescription=prescription, prescriber=prescriber, reason="Custody", now=MORNING
    )
    again = services.prescription_stop(
        prescription=prescription, prescriber=prescriber, reason="x", now=at(TODAY, 9, 5)
    )

    assert (stopped.stopped_at, again.stopped_at, again.stop_reason) == (MORNING, MORNING, "Custody")
    assert set(Slot.objects.filter(patient=patient).values_list("status", flat=True)) == {SlotStatus.CANCELLED}


def test_one_live_prescription_per_patient_and_drug_in_the_service_and_the_database(patient, prescriber):
    create(patient, prescriber)
    with pytest.raises(ValidationError, match="already has a prescription for this drug"):
        create(patient, prescriber)
    with pytest.raises(ValidationError, match="already has an injectable prescription"):
        create(patient, prescriber, drug=Drug.HYDROMORPHONE_INJECTABLE, daily_max_mg=Decimal("200"))
    with pytest.raises(IntegrityError), transaction.atomic():
        PrescriptionFactory(patient=patient, prescriber=prescriber)
    assert Prescription.objects.live().filter(patient=patient).count() == 1


def test_an_oral_top_up_may_sit_beside_the_injectable(patient, prescriber):
    create(patient, prescriber)
    oral = create(
        patient,
        prescriber,
        drug=Drug.METHADONE_ORAL,
        route=Route.ORAL,
        morning_dose_mg=Decimal("30"),
        afternoon_dose_mg=None,
        daily_max_mg=Decimal("30"),
    )
    assert oral.is_live


def test_a_prescription_cannot_start_in_the_past_or_use_the_wrong_route(patient, prescriber):
    with pytest.raises(ValidationError) as past:
        create(patient, prescriber, starts_on=TODAY - datetime.timedelta(days=1))
    assert "starts_on" in past.value.message_dict
    with pytest.raises(ValidationError) as route:
        create(patient, prescriber, route=Route.ORAL)
    assert route.value.message_dict["route"] == [
        "S8 · Injectable diamorphine is given intramuscular or intravenous, not oral"
    ]
