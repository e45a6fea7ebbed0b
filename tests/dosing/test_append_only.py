"""S10 in the database: administrations (and the other dose records) are never updated or deleted."""

import pytest
from django.db import IntegrityError, connection, transaction

from dosing.models import Administration, ObservationSignOut, PreDoseCheck
from dosing.services import sign_out_after_observation

from .conftest import TODAY, at, check_and_dose

pytestmark = pytest.mark.django_db


@pytest.fixture
def given(slot, nurse, second_nurse):
    return check_and_dose(slot, nurse, second_nurse)


def test_the_database_refuses_to_update_an_administration(given):
    with pytest.raises(IntegrityError, match="S10"), transaction.atomic():
        Administration.objects.filter(pk=given.pk).update(dose_mg=1)
    with pytest.raises(IntegrityError, match="S10"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE dosing_administration SET dose_mg = 1 WHERE id = %s", [given.pk])
    given.refresh_from_db()
    assert given.dose_mg == 100


def test_the_database_refuses_to_delete_an_administration(given):
    with pytest.raises(IntegrityError, match="S10"), transaction.atomic():
        Administration.objects.filter(pk=given.pk).delete()
    with pytest.raises(IntegrityError, match="S10"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM dosing_administration WHERE id = %s", [given.pk])
    assert Administration.objects.filter(pk=given.pk).exists()


def test_checks_and_sign_outs_are_append_only_too(given, nurse):
    sign_out = sign_out_after_observation(administration=given, signed_out_by=nurse, state="well", now=at(TODAY, 9, 30))
    with pytest.raises(IntegrityError), transaction.atomic():
        ObservationSignOut.objects.filter(pk=sign_out.pk).update(notes="changed")
    with pytest.raises(IntegrityError), transaction.atomic():
        PreDoseCheck.objects.filter(slot=given.slot).delete()
