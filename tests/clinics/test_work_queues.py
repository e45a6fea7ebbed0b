"""Home pages as work queues: each role sees what is waiting for it in the clinic it works in, with counts."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine

from dosing.models import Alert, AlertKind, Hold, Session
from referrals.models import ReferralStatus
from tests.factories import PatientFactory, PrescriptionFactory, ReferralFactory, SlotFactory, TreatmentConsentFactory
from tests.factories.cd_register import stock_cupboard

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
MORNING = datetime.datetime(2026, 11, 18, 9, 0, tzinfo=LONDON)


def _count(page: str, words: str) -> int:
    match = re.search(rf'work-queue__count">(\d+)</strong> {re.escape(words)}', page)
    assert match, f"no queue '{words}' on the page"
    return int(match.group(1))


def _home(client, user) -> str:
    client.force_login(user)
    with time_machine.travel(MORNING, tick=False):
        return client.get("/").content.decode()


@pytest.fixture
def two_expected_one_held(clinic, prescriber, keyworker):
    slots = []
    for name in ("Sam", "Alex"):
        patient = PatientFactory(clinic=clinic, given_name=name)
        TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
        prescription = PrescriptionFactory(patient=patient, prescriber=prescriber)
        slots.append(SlotFactory(prescription=prescription, date=MORNING.date(), session=Session.MORNING))
    Hold.objects.create(
        patient=slots[1].patient, prescription=slots[1].prescription, since=MORNING, missed_days=3,
        missed_since=MORNING.date(), reason="3 days missed",
    )  # fmt: skip
    return slots


def test_a_nurse_sees_who_is_expected_and_nothing_of_other_roles(client, nurse, two_expected_one_held):
    page = _home(client, nurse)

    assert _count(page, "expected this session") == 1  # as the board: the held patient is "on hold", not expected
    assert _count(page, "to sign out after observation") == 0
    assert "holds to review" not in page and "referrals awaiting assessment" not in page


def test_a_prescriber_sees_holds_to_review_and_referrals_to_sign_off(client, prescriber, clinic, two_expected_one_held):
    ReferralFactory(clinic=clinic, status=ReferralStatus.AWAITING_PRESCRIBER)

    page = _home(client, prescriber)

    assert _count(page, "holds to review") == 1
    assert _count(page, "referrals to sign off") == 1


def test_a_keyworker_sees_referrals_awaiting_assessment_of_their_clinic_only(client, keyworker, clinic, other_clinic):
    ReferralFactory(clinic=clinic, status=ReferralStatus.NEW)
    ReferralFactory(clinic=clinic, status=ReferralStatus.ASSESSING)
    ReferralFactory(clinic=clinic, status=ReferralStatus.AWAITING_PRESCRIBER)  # the prescriber's, not the keyworker's
    ReferralFactory(clinic=other_clinic, status=ReferralStatus.NEW)  # another clinic's: not counted

    page = _home(client, keyworker)

    assert _count(page, "referrals awaiting assessment") == 2
    assert "expected this session" not in page


def test_a_clinic_manager_sees_registers_due_a_stock_check(client, manager, clinic):
    stock_cupboard(clinic, now=MORNING - datetime.timedelta(days=30))

    page = _home(client, manager)

    assert _count(page, "registers due a stock check (none in 7 days)") >= 1
    assert _count(page, "controlled-drug discrepancies open") == 0


@pytest.mark.parametrize(
    ("persona", "shown"), [("nurse", True), ("manager", True), ("keyworker", False), ("commissioner", False)]
)
def test_the_witness_pin_link_is_shown_only_to_those_who_witness(client, request, persona, shown):
    page = _home(client, request.getfixturevalue(persona))

    assert ('href="/accounts/pin/"' in page) is shown


def test_a_prescriber_sees_unread_alerts_counted_in_the_header(client, prescriber, nurse, clinic):
    Alert.objects.create(
        recipient=prescriber, clinic=clinic, kind=AlertKind.HOLD, message="Sam Taylor is on hold", created_at=MORNING
    )

    assert re.search(r'header-badge__count">1<span class="visually-hidden"> unread', _home(client, prescriber))
    assert "header-badge" not in _home(client, nurse)  # the nurse has no alerts page


def test_to_sign_out_counts_this_sessions_doses_only_as_the_board_does(
    client, nurse, second_nurse, two_expected_one_held
):
    from dosing import services
    from dosing.models import CheckOutcome, InjectionSite, Route, Sedation
    from tests.factories.clinics import PASSWORD

    yesterday = SlotFactory(
        prescription=two_expected_one_held[0].prescription, date=MORNING.date() - datetime.timedelta(days=1),
        session=Session.MORNING,
    )  # fmt: skip
    stock_cupboard(yesterday.clinic, now=MORNING - datetime.timedelta(days=3))
    for slot, when in ((yesterday, MORNING - datetime.timedelta(days=1)), (two_expected_one_held[0], MORNING)):
        services.record_pre_dose_check(
            slot=slot, checked_by=nurse, sedation=Sedation.ALERT, intoxication_signs=False, withdrawal_signs=False,
            breath_alcohol_ug=0, outcome=CheckOutcome.PROCEED, now=when - datetime.timedelta(minutes=40),
        )  # fmt: skip
        services.administer_dose(
            slot=slot, nurse=nurse, witness=second_nurse, witness_password=PASSWORD,
            dose_mg=slot.prescription.morning_dose_mg, route=Route.INTRAVENOUS, injection_site=InjectionSite.LEFT_ARM,
            now=when - datetime.timedelta(minutes=35),
        )  # fmt: skip

    # Yesterday's dose was never signed out (a lapse for the record), but the board and its queue are about now.
    assert _count(_home(client, nurse), "to sign out after observation") == 1
