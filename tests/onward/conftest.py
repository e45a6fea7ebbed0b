"""Onward referrals and the partner API: two partners of the clinic and a patient sharing with both."""

import datetime as dt

import pytest

from partners.services import partner_create
from tests.factories import PartnerClientFactory, PartnerFactory, PatientFactory
from tests.factories.referrals import consent_to_share

# The referrals tests' clock (Saturday 21 Nov 2026, noon) and their keyworker of another clinic.
from tests.referrals.conftest import NOW, TODAY, _pinned_clock, other_keyworker  # noqa: F401


@pytest.fixture
def housing(clinic):
    """Partner A: a housing agency of the clinic."""
    return PartnerFactory(
        name="Thirteen Housing", kind="housing", contact_email="team@thirteen.example", clinics=[clinic]
    )


@pytest.fixture
def employment(clinic):
    """Partner B: another agency of the same clinic."""
    return PartnerFactory(
        name="Routes to Work", kind="employment", contact_email="hello@routes.example", clinics=[clinic]
    )


@pytest.fixture
def sharing_patient(clinic, keyworker, housing, employment):
    """A patient with a phone number who agreed to share their details with both partners."""
    patient = PatientFactory(
        clinic=clinic,
        given_name="Samantha",
        family_name="Taylor",
        phone="07700 900123",
        email="sam@example.invalid",
        address="1 Linthorpe Road",
        contact_route="phone",
        keyworker=keyworker,
    )
    consent_to_share(patient, housing, recorded_by=keyworker, at=NOW - dt.timedelta(days=30))
    consent_to_share(patient, employment, recorded_by=keyworker, at=NOW - dt.timedelta(days=30))
    return patient


@pytest.fixture
def api_clients(housing, employment):
    """Read-write API clients of partner A (housing) and partner B (employment), each with `.secret`."""
    return {
        "housing": PartnerClientFactory(partner=housing, scopes=["referrals:read", "referrals:write"]),
        "employment": PartnerClientFactory(partner=employment, scopes=["referrals:read", "referrals:write"]),
    }


@pytest.fixture
def webhook_partner(clinic, settings):
    """Partner factory for the worker tests: partner_create gives it a webhook secret.

    Its address is the local receiver (127.0.0.1), allowed here as the partner's network.
    """
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]

    def make(url: str, name: str = "Thirteen Housing"):
        partner, _secret = partner_create(
            name=name, kind="housing", contact_email="team@thirteen.example", webhook_url=url, clinics=[clinic]
        )
        return partner

    return make
