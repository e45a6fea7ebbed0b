"""Dosing fixtures: a consenting patient with a diamorphine prescription and this morning's slot.

Time is a parameter: every service call passes `now=`; "today" is Wednesday 18 Nov 2026 in
Middlesbrough (Europe/London, GMT), morning window 08:00-10:30, afternoon 15:30-18:00.
"""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from dosing import services
from dosing.models import CheckOutcome, InjectionSite, Route, Sedation, Session
from tests.factories import PatientFactory, PrescriptionFactory, SlotFactory, StaffFactory, TreatmentConsentFactory
from tests.factories.cd_register import stock_cupboard
from tests.factories.clinics import PASSWORD
from tests.factories.dosing import license_prescriber

LONDON = ZoneInfo("Europe/London")
TODAY = datetime.date(2026, 11, 18)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """A clinic-local (London) moment."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=LONDON)


MORNING = at(TODAY, 9, 0)
AFTERNOON = at(TODAY, 16, 0)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The witness password is checked on every dose; a fast hasher keeps the suite quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "clinics.hashers.WitnessPinHasher"]


CUPBOARD_FILLED = datetime.datetime(2025, 1, 6, 8, 0, tzinfo=LONDON)  # before any dose in these tests


@pytest.fixture(autouse=True)
def _stocked_cupboard(request):
    """Every dose writes the controlled-drug register (no stock, no dose): stock the clinic's cupboard."""
    if "clinic" in request.fixturenames:
        stock_cupboard(request.getfixturevalue("clinic"), now=CUPBOARD_FILLED)


@pytest.fixture(autouse=True)
def _licensed_prescriber(request):
    """S14: the clinic's prescriber persona holds a Home Office licence (tests of S14 make it lapse)."""
    if "prescriber" in request.fixturenames and "clinic" in request.fixturenames:
        license_prescriber(request.getfixturevalue("prescriber"), request.getfixturevalue("clinic"))


@pytest.fixture
def patient(clinic, keyworker):
    patient = PatientFactory(clinic=clinic, given_name="Sam", family_name="Taylor")
    TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
    return patient


@pytest.fixture
def prescription(patient, prescriber):
    return PrescriptionFactory(patient=patient, prescriber=prescriber)


@pytest.fixture
def slot(prescription):
    return SlotFactory(prescription=prescription, date=TODAY, session=Session.MORNING)


@pytest.fixture
def afternoon_slot(prescription):
    return SlotFactory(prescription=prescription, date=TODAY, session=Session.AFTERNOON)


@pytest.fixture
def other_prescriber(other_clinic):
    return StaffFactory(username="otto.prescriber", roles=["prescriber"], clinics=[other_clinic])


def check(slot, nurse, *, now=MORNING, **overrides):
    fields = {
        "sedation": Sedation.ALERT,
        "intoxication_signs": False,
        "withdrawal_signs": True,
        "breath_alcohol_ug": Decimal("0"),
        "outcome": CheckOutcome.PROCEED,
    }
    fields.update(overrides)
    return services.record_pre_dose_check(slot=slot, checked_by=nurse, now=now, **fields)


def dose(slot, nurse, witness, *, now=MORNING, **overrides):
    fields = {
        "dose_mg": Decimal("100"),
        "route": Route.INTRAVENOUS,
        "injection_site": InjectionSite.LEFT_ARM,
        "witness": witness,
        "witness_password": PASSWORD,
    }
    fields.update(overrides)
    return services.administer_dose(slot=slot, nurse=nurse, now=now, **fields)


def check_and_dose(slot, nurse, witness, *, now=MORNING, **overrides):
    check(slot, nurse, now=now)
    return dose(slot, nurse, witness, now=now + datetime.timedelta(minutes=2), **overrides)
