import pytest

from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_a_keyworker_reaches_a_patients_onward_referrals_from_the_record(client_for, clinic, keyworker, nurse):
    patient = PatientFactory(clinic=clinic)
    link = f'href="/referrals/onward/?patient={patient.pk}"'

    assert link in client_for(keyworker).get(f"/patients/{patient.pk}/").content.decode()
    assert link not in client_for(nurse).get(f"/patients/{patient.pk}/").content.decode()
