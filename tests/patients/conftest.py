import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.factories import PartnerFactory, PatientFactory, StaffFactory

VALID_NHS = "9434765919"
INVALID_NHS = "9434765918"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def patient(clinic, keyworker):
    return PatientFactory(
        clinic=clinic,
        given_name="Alex",
        family_name="Morgan",
        date_of_birth=datetime.date(1980, 5, 17),
        nhs_number=VALID_NHS,
        keyworker=keyworker,
        episode__started_on=datetime.date(2026, 1, 5),
    )


@pytest.fixture
def other_patient(other_clinic):
    return PatientFactory(clinic=other_clinic, given_name="Sam", family_name="Other")


@pytest.fixture
def partner(clinic):
    return PartnerFactory(name="Tees Housing", clinics=[clinic])


@pytest.fixture
def other_partner(other_clinic):
    return PartnerFactory(name="Darlington Works", clinics=[other_clinic])


@pytest.fixture
def other_keyworker(other_clinic):
    return StaffFactory(username="olly.keyworker", roles=["keyworker"], clinics=[other_clinic])


@pytest.fixture
def other_manager(other_clinic):
    return StaffFactory(username="omar.manager", roles=["clinic_manager"], clinics=[other_clinic])


def image_upload(name="face.png", size=(40, 50), fmt="PNG") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 90)).save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


TOP_ANSWERS = {
    "heroin_days": 20,
    "other_opiate_days": 0,
    "crack_days": 5,
    "cocaine_days": 0,
    "amphetamine_days": 0,
    "cannabis_days": 3,
    "alcohol_days": 2,
    "injected_days": 18,
    "shared_equipment": False,
    "shoplifting_days": 4,
    "selling_drugs_days": 0,
    "other_theft": False,
    "assault": False,
    "psychological_health": 8,
    "physical_health": 9,
    "quality_of_life": 7,
    "paid_work_days": 0,
    "education_days": 0,
    "acute_housing_problem": True,
    "at_risk_of_eviction": False,
}


def top_form_data(**overrides) -> dict:
    data = {"interviewed_on": "2026-02-01"}
    for name, value in {**TOP_ANSWERS, **overrides}.items():
        data[name] = ("yes" if value else "no") if isinstance(value, bool) else value
    return data
