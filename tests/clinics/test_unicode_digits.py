"""Issue 11, hole 7: integers in requests are ASCII digits, parsed in one place (clinics/parsing.py).

'²' is a digit to `str.isdigit()` but not to `int()`, and '٣' (Arabic-Indic three) is a digit to
both: an id, a count or an NHS number written with either is refused as a 400 (API) or a form
error (page) naming the parameter, never a 500 and never quietly read as another number.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from clinics.api_errors import PROBLEM_CONTENT_TYPE
from patients.models import Patient
from referrals.models import Referral
from tests.factories import PatientFactory, RegisterFactory, StaffFactory
from tests.patients.test_api import new_patient
from tests.patients.test_pages import registration
from tests.referrals.test_api import body as referral_body

pytestmark = pytest.mark.django_db

JSON = "application/json"
SUPERSCRIPT_TWO = "²"
ARABIC_THREE = "٣"


def assert_problem_naming(response, name: str):
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert name in response.json()["errors"], response.json()


@pytest.fixture
def manager_and_nurse(clinic):
    return StaffFactory(username="mo.both", roles=["clinic_manager", "nurse", "keyworker"], clinics=[clinic])


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_THREE])
@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/api/v1/cd-registers/", {}, "clinic"),
        ("/api/v1/cd-proposals/", {"drug": "diamorphine_inj", "dose_mg": "100"}, "clinic"),
        ("/api/v1/dosing/board/", {}, "clinic"),
        ("/api/v1/stats/", {}, "clinic"),
    ],
)
def test_a_query_parameter_in_non_ascii_digits_is_a_400_naming_it(
    client_for, manager_and_nurse, clinic, digit, path, params, name
):
    RegisterFactory(clinic=clinic, strength_mg=Decimal(100), created_by=manager_and_nurse)

    response = client_for(manager_and_nurse).get(path, {**params, name: digit * 2})

    assert_problem_naming(response, name)


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_THREE])
def test_an_nhs_number_in_non_ascii_digits_is_refused_by_the_patients_api(client_for, keyworker, digit):
    response = client_for(keyworker).post(
        "/api/v1/patients/", new_patient(nhs_number=digit * 10, clinic=keyworker.clinics.get().pk), content_type=JSON
    )

    assert_problem_naming(response, "nhs_number")
    assert not Patient.objects.exists()


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_THREE])
def test_an_nhs_number_in_non_ascii_digits_is_refused_by_the_referrals_api(client_for, keyworker, digit):
    response = client_for(keyworker).post("/api/v1/referrals/", referral_body(nhs_number=digit * 10), content_type=JSON)

    assert_problem_naming(response, "nhs_number")
    assert not Referral.objects.exists()


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_THREE])
def test_an_nhs_number_in_non_ascii_digits_is_a_form_error_on_the_registration_page(client_for, keyworker, digit):
    response = client_for(keyworker).post(reverse("patient-register"), registration(nhs_number=digit * 10))

    assert response.status_code == 200
    assert "nhs_number" in response.context["form"].errors
    assert "NHS number must be exactly 10 digits" in response.content.decode()
    assert not Patient.objects.exists()


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_THREE])
def test_the_correction_page_refuses_an_entry_in_non_ascii_digits(client_for, manager_and_nurse, clinic, digit):
    register = RegisterFactory(clinic=clinic, strength_mg=Decimal(100), created_by=manager_and_nurse)
    page = reverse("cd-register-correction", args=[register.pk])

    response = client_for(manager_and_nurse).get(page, {"entry": digit})

    assert response.status_code == 400
    assert "entry" in response.content.decode()


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_THREE])
def test_an_outcome_score_in_non_ascii_digits_is_a_form_error(client_for, keyworker, clinic, digit):
    from tests.patients.conftest import top_form_data

    patient = PatientFactory(clinic=clinic)
    response = client_for(keyworker).post(
        reverse("patient-outcome-new", args=[patient.pk]), top_form_data(heroin_days=digit)
    )

    assert response.status_code == 200
    assert "heroin_days" in response.context["form"].errors
    assert not patient.outcome_interviews.exists()


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_THREE])
def test_switching_to_a_clinic_in_non_ascii_digits_is_refused(client_for, nurse, digit):
    response = client_for(nurse).post(reverse("switch-clinic"), {"clinic": digit})

    assert response.status_code in (400, 404)
