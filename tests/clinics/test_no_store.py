"""Issue 11, hole 9: nothing with patient data may be kept by a browser or proxy cache.

Pages of signed-in staff, the staff API, the partner API and their error answers all carry
`Cache-Control: no-store`.
"""

import base64

import pytest
from django.urls import reverse

from tests.factories import PartnerClientFactory, PartnerFactory, PatientFactory
from tests.factories.referrals import consent_to_share, make_onward_referral

pytestmark = pytest.mark.django_db


def assert_not_stored(response):
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    assert "no-store" in directives, (response.status_code, response.get("Cache-Control"))
    assert "private" in directives


@pytest.fixture
def patient(clinic):
    return PatientFactory(clinic=clinic, given_name="Samantha", family_name="Taylor", phone="07700 900123")


def test_staff_pages_with_patient_data_are_not_stored(client_for, keyworker, nurse, manager, patient):
    client = client_for(keyworker)
    for page in [
        reverse("home"),
        reverse("patient-list"),
        reverse("patient-detail", args=[patient.pk]),
        reverse("patient-history", args=[patient.pk]),
        reverse("patient-edit", args=[patient.pk]),
        reverse("referral-list"),
    ]:
        response = client.get(page)
        assert response.status_code == 200, page
        assert "Taylor" in response.content.decode() or page in (reverse("home"), reverse("referral-list"))
        assert_not_stored(response)
    assert_not_stored(client_for(nurse).get(reverse("dosing-board")))
    assert_not_stored(client_for(manager).get(reverse("cd-register-list")))


def test_staff_api_answers_and_errors_are_not_stored(client_for, keyworker, patient, other_clinic):
    client = client_for(keyworker)
    listed = client.get("/api/v1/patients/")
    read = client.get(f"/api/v1/patients/{patient.pk}/")
    refused = client.post("/api/v1/patients/", {"given_name": ""}, content_type="application/json")
    other = PatientFactory(clinic=other_clinic)
    missing = client.get(f"/api/v1/patients/{other.pk}/")

    assert (listed.status_code, read.status_code, refused.status_code, missing.status_code) == (200, 200, 400, 404)
    assert "Taylor" in read.content.decode()
    for response in (listed, read, refused, missing, client.get("/api/v1/me/")):
        assert_not_stored(response)


def test_partner_api_answers_are_not_stored(client, clinic, keyworker, patient):
    partner = PartnerFactory(name="Thirteen Housing", kind="housing", clinics=[clinic])
    consent_to_share(patient, partner, recorded_by=keyworker)
    referral = make_onward_referral(patient=patient, partner=partner, created_by=keyworker)
    api_client = PartnerClientFactory(partner=partner, scopes=["referrals:read"])
    basic = base64.b64encode(f"{api_client.client_id}:{api_client.secret}".encode()).decode()
    token = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token.json()['access_token']}"}

    read = client.get(f"/api/v1/partner/referrals/{referral.reference}/", **bearer)

    assert read.status_code == 200 and "Samantha" in read.content.decode()
    assert_not_stored(read)
    assert_not_stored(client.get("/api/v1/partner/referrals/", **bearer))
    assert_not_stored(token)
