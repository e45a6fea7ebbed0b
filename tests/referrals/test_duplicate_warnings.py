"""Issue 11, hole 12: a match at another clinic is kept (it prevents double prescribing), told only to
staff who handle referrals, and each match lands in that patient's access log."""

import datetime as dt

import pytest
from django.urls import reverse

from patients.models import AccessLogEntry
from tests.factories import PatientFactory, ReferralFactory
from tests.referrals.test_pages import intake

pytestmark = pytest.mark.django_db


@pytest.fixture
def treated_elsewhere(other_clinic):
    """Jamie Lister is in treatment at Darlington."""
    return PatientFactory(
        clinic=other_clinic, given_name="Jamie", family_name="Lister", date_of_birth=dt.date(1988, 3, 14)
    )


def duplicate_log(patient):
    return list(AccessLogEntry.objects.filter(patient=patient, what="duplicate_match").values_list("user", "channel"))


def test_the_referral_form_match_elsewhere_is_logged(client_for, keyworker, treated_elsewhere):
    response = client_for(keyworker).post(reverse("referral-create"), intake())

    assert "1 record in another clinic" in response.content.decode()
    assert duplicate_log(treated_elsewhere) == [(keyworker.pk, "ui")]


def test_the_registration_page_match_elsewhere_is_logged(client_for, keyworker, treated_elsewhere):
    response = client_for(keyworker).post(
        reverse("patient-register"),
        {
            "given_name": "Jamie",
            "family_name": "Lister",
            "date_of_birth": "1988-03-14",
            "sex": "male",
            "contact_route": "at_clinic",
            "started_on": "2026-11-21",
        },
    )

    assert "registered at another clinic" in response.content.decode()
    assert duplicate_log(treated_elsewhere) == [(keyworker.pk, "ui")]


def test_the_api_registration_match_elsewhere_is_logged(client_for, keyworker, treated_elsewhere):
    response = client_for(keyworker).post(
        "/api/v1/patients/",
        {
            "given_name": "Jamie",
            "family_name": "Lister",
            "date_of_birth": "1988-03-14",
            "sex": "male",
            "contact_route": "at_clinic",
            "started_on": "2026-11-21",
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "another clinic" in response.json()["errors"]["confirm_duplicates"][0]
    assert duplicate_log(treated_elsewhere) == [(keyworker.pk, "api")]


def test_the_referral_page_warning_is_logged_for_the_prescriber_who_reads_it(
    client_for, prescriber, clinic, other_clinic
):
    elsewhere = PatientFactory(clinic=other_clinic, nhs_number="9434765919")
    referral = ReferralFactory(clinic=clinic, nhs_number="9434765919")

    page = client_for(prescriber).get(reverse("referral-detail", args=[referral.pk])).content.decode()

    assert "already registered" in page
    assert duplicate_log(elsewhere) == [(prescriber.pk, "ui")]


def test_a_match_in_the_users_own_clinic_is_not_a_cross_clinic_disclosure(client_for, keyworker, clinic):
    mine = PatientFactory(clinic=clinic, given_name="Jamie", family_name="Lister", date_of_birth=dt.date(1988, 3, 14))

    client_for(keyworker).post(reverse("referral-create"), intake())

    assert duplicate_log(mine) == []
