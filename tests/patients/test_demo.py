import io

import pytest

from clinics.management.commands.seed_demo import CLINICS, STAFF
from clinics.services import clinic_upsert, staff_upsert
from partners import demo as partners_demo
from patients import demo, selectors
from patients.models import ConsentKind, OutcomeInterview, Patient, PatientStatus
from patients.validators import nhs_number_is_valid

pytestmark = pytest.mark.django_db


def test_demo_patients_are_seeded_once_with_consents_and_interviews():
    clinics = {code: clinic_upsert(code=code, name=name, address=a, phone=p) for code, name, a, p in CLINICS}
    staff = {
        username: staff_upsert(
            username=username,
            first_name=first,
            last_name=last,
            email=f"{username}@demo.invalid",
            roles=roles,
            clinics=[clinics[c] for c in codes],
            password="demo-password-123",
        )
        for username, first, last, roles, codes in STAFF
    }
    for _ in range(2):
        partners_demo.seed(clinics=clinics, staff=staff, stdout=io.StringIO())
        demo.seed(clinics=clinics, staff=staff, stdout=io.StringIO())

    patients = list(Patient.objects.all())
    assert len(patients) == 12
    assert {p.clinic.code for p in patients} == {"mbro", "darl"}
    assert all(nhs_number_is_valid(p.nhs_number) for p in patients)
    assert all(selectors.has_treatment_consent(p) for p in patients)
    assert Patient.objects.filter(consents__kind=ConsentKind.DATA_SHARING).distinct().count() >= 4
    assert OutcomeInterview.objects.count() == 12
    assert Patient.objects.filter(status=PatientStatus.DISCHARGED).count() == 1
