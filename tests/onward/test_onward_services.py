"""Onward referrals: consent before sending, the transitions, and the reminders written with each change."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from clinics.models import BankHolidays, Clinic
from deliveries.models import MessageStatus, OutboxMessage
from deliveries.registry import cancel_reason_for
from deliveries.services import enqueue_for_partner
from onward import reminders as reminder_writer
from onward import services
from onward.models import OnwardReferral, OnwardReferralEvent, OnwardReferralSettings, OnwardStatus
from onward.selectors import onward_referrals_for, partners_with_consent
from patients.models import Patient
from tests.factories import PatientFactory, StaffFactory
from tests.factories.referrals import make_onward_referral, withdraw_consent
from tests.onward.conftest import NOW

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


@pytest.fixture
def referral(sharing_patient, housing, keyworker):
    return make_onward_referral(patient=sharing_patient, partner=housing, created_by=keyworker)


def reminders(referral, kind=None):
    messages = OutboxMessage.objects.filter(cancel_key=f"referral.{referral.pk}").order_by("due_at")
    return messages.filter(kind=kind) if kind else messages


# --- Making one -------------------------------------------------------------------------------


def test_a_referral_needs_the_patients_live_consent_for_that_partner(clinic, keyworker, housing):
    patient = PatientFactory(clinic=clinic, phone="07700 900123", contact_route="phone")

    with pytest.raises(ValidationError) as refused:
        make_onward_referral(patient=patient, partner=housing, created_by=keyworker)

    assert "no live consent" in refused.value.message_dict["partner"][0]
    assert partners_with_consent(patient) == []
    assert not OnwardReferral.objects.exists()


def test_a_withdrawn_consent_refuses_a_new_referral(sharing_patient, housing, keyworker):
    withdraw_consent(sharing_patient, housing, recorded_by=keyworker, at=NOW - dt.timedelta(seconds=1))

    with pytest.raises(ValidationError, match="no live consent"):
        make_onward_referral(patient=sharing_patient, partner=housing, created_by=keyworker)
    assert [p.name for p in partners_with_consent(sharing_patient)] == ["Routes to Work"]


def test_the_contact_route_needs_its_detail_on_the_record(clinic, keyworker, housing, sharing_patient):
    sharing_patient.phone = ""
    sharing_patient.save()

    with pytest.raises(ValidationError) as refused:
        make_onward_referral(patient=sharing_patient, partner=housing, created_by=keyworker, contact_route="text")

    assert "no phone number" in refused.value.message_dict["contact_route"][0]


def test_only_a_keyworker_of_the_clinic_refers(sharing_patient, housing, nurse, other_keyworker):
    with pytest.raises(PermissionDenied):
        make_onward_referral(patient=sharing_patient, partner=housing, created_by=nurse)
    with pytest.raises(Patient.DoesNotExist):
        make_onward_referral(patient=sharing_patient, partner=housing, created_by=other_keyworker)


def test_staff_see_only_their_clinics_onward_referrals(referral, keyworker, other_keyworker, nurse):
    assert list(onward_referrals_for(keyworker)) == [referral]
    assert list(onward_referrals_for(other_keyworker)) == []
    assert list(onward_referrals_for(nurse)) == []  # a nurse does not handle referrals


# --- Transitions ----------------------------------------------------------------------------------


def test_transitions_are_idempotent_and_versioned(referral, housing):
    once = services.onward_referral_acknowledge(referral=referral, by=housing)
    twice = services.onward_referral_acknowledge(referral=referral, by=housing)

    assert once.version == twice.version == 2
    assert OnwardReferralEvent.objects.filter(referral=referral, kind="status").count() == 1


def test_a_stale_version_is_refused_under_the_lock(referral, housing, keyworker):
    services.onward_referral_add_note(referral=referral, text="Called them.", by=keyworker)
    services.onward_referral_acknowledge(referral=referral, by=housing, expected_version=1)

    with pytest.raises(services.VersionMismatch):
        services.onward_referral_book(
            referral=referral, appointment_at=NOW + dt.timedelta(days=2), by=housing, expected_version=1
        )


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("sent", "attended"),
        ("sent", "did_not_attend"),
        ("acknowledged", "attended"),
        ("closed", "acknowledged"),
        ("cancelled", "appointment_booked"),
        ("attended", "did_not_attend"),
    ],
)
def test_a_move_the_table_does_not_allow_is_refused_naming_status(referral, keyworker, start, target):
    OnwardReferral.objects.filter(pk=referral.pk).update(
        status=start,
        appointment_at=NOW - dt.timedelta(days=1),
        outcome="need_met" if start == "closed" else "",
        cancel_reason="x" if start == "cancelled" else "",
        finished_at=NOW if start in ("closed", "cancelled") else None,
        acknowledged_at=None,
    )

    with pytest.raises(ValidationError) as refused:
        services.onward_referral_change_status(
            referral=referral, status=target, by=keyworker, appointment_at=NOW + dt.timedelta(days=1)
        )

    assert "status" in refused.value.message_dict


def test_a_partner_may_not_cancel(referral, housing):
    with pytest.raises(ValidationError, match="Only the clinic can cancel"):
        services.onward_referral_cancel(referral=referral, reason="no", by=housing)


def test_a_partner_without_live_consent_cannot_change_the_referral(referral, housing, sharing_patient, keyworker):
    withdraw_consent(sharing_patient, housing, recorded_by=keyworker, at=NOW - dt.timedelta(seconds=1))

    with pytest.raises(OnwardReferral.DoesNotExist):
        services.onward_referral_acknowledge(referral=referral, by=housing)


def test_an_event_is_never_changed(referral):
    event = referral.events.get()
    event.text = "rewritten"

    with pytest.raises(ValueError, match="append-only"):
        event.save()


# --- Reminders ------------------------------------------------------------------------------------


def test_a_friday_referral_is_reminded_on_tuesday_and_the_keyworker_told_on_thursday(
    sharing_patient, housing, keyworker
):
    keyworker.email = "kev@clinic.example"
    keyworker.save()
    with time_machine.travel(local(2026, 11, 20, 14, 30), tick=False):  # a Friday afternoon
        referral = make_onward_referral(patient=sharing_patient, partner=housing, created_by=keyworker)

    partner_reminder = reminders(referral, "referral.not_acknowledged").get()
    silent = reminders(referral, "referral.partner_silent").get()
    assert partner_reminder.due_at == local(2026, 11, 24, 14, 30)  # Tuesday: 2 working days
    assert partner_reminder.recipient_email == "team@thirteen.example"
    assert partner_reminder.payload["reference"] == referral.reference
    assert "Samantha" not in partner_reminder.body + str(partner_reminder.payload)
    assert silent.due_at == local(2026, 11, 26, 14, 30)  # Thursday: 2 working days after the reminder
    assert silent.recipient_email == "kev@clinic.example" and silent.partner is None


def test_the_working_days_are_a_clinic_setting(clinic, sharing_patient, housing, keyworker):
    OnwardReferralSettings.objects.create(clinic=clinic, acknowledge_within_working_days=5)
    with time_machine.travel(local(2026, 11, 23, 9, 0), tick=False):  # a Monday
        referral = make_onward_referral(patient=sharing_patient, partner=housing, created_by=keyworker)

    assert reminders(referral, "referral.not_acknowledged").get().due_at == local(2026, 11, 30, 9, 0)


@pytest.mark.parametrize(
    "nation, due",
    [
        (BankHolidays.ENGLAND, local(2026, 12, 30, 14, 0)),  # Christmas Friday, Boxing Day observed Monday 28
        (BankHolidays.NONE, local(2026, 12, 28, 14, 0)),  # weekends only
    ],
)
def test_a_reminder_skips_the_clinics_bank_holidays(clinic, sharing_patient, housing, keyworker, nation, due):
    Clinic.objects.filter(pk=clinic.pk).update(bank_holidays=nation)
    sharing_patient.clinic.refresh_from_db()
    with time_machine.travel(local(2026, 12, 24, 14, 0), tick=False):  # Christmas Eve, a Thursday
        referral = make_onward_referral(patient=sharing_patient, partner=housing, created_by=keyworker)

    assert reminders(referral, "referral.not_acknowledged").get().due_at == due


def test_bank_holidays_are_those_of_the_clinics_nation(clinic):
    st_andrews_day = dt.date(2026, 11, 30)  # a Monday: a bank holiday in Scotland only
    clinic.bank_holidays = BankHolidays.SCOTLAND
    assert not clinic.is_working_day(st_andrews_day)
    clinic.bank_holidays = BankHolidays.ENGLAND
    assert clinic.is_working_day(st_andrews_day)
    assert not clinic.is_working_day(dt.date(2026, 11, 28))  # a Saturday


def test_booking_schedules_the_day_before_and_the_overdue_outcome_once(referral, housing):
    appointment = local(2026, 11, 26, 10, 0)
    services.onward_referral_book(referral=referral, appointment_at=appointment, by=housing)
    services.onward_referral_book(referral=referral, appointment_at=appointment, by=housing)  # a retry

    day_before = reminders(referral, "referral.appointment_tomorrow").get()
    overdue = reminders(referral, "referral.outcome_overdue").get()
    assert day_before.due_at == local(2026, 11, 25, 9, 0)
    assert overdue.due_at == appointment + dt.timedelta(days=7)


def test_writing_the_same_reminder_twice_keeps_one(referral):
    with transaction.atomic():
        reminder_writer.schedule_after_sending(referral, now=NOW)

    assert reminders(referral, "referral.not_acknowledged").count() == 1


def test_closing_cancels_every_waiting_reminder_in_the_same_transaction(referral, housing, keyworker):
    services.onward_referral_close(referral=referral, outcome="not_eligible", by=housing)

    assert set(reminders(referral).values_list("status", flat=True)) == {MessageStatus.CANCELLED}


def test_the_hook_drops_a_reminder_whose_cause_has_gone(referral, housing, keyworker, sharing_patient):
    waiting = reminders(referral, "referral.not_acknowledged").get()
    assert cancel_reason_for(waiting) is None

    services.onward_referral_acknowledge(referral=referral, by=housing)
    assert cancel_reason_for(waiting) == "The partner has acknowledged the referral."

    appointment = NOW + dt.timedelta(days=3)
    services.onward_referral_book(referral=referral, appointment_at=appointment, by=housing)
    overdue = reminders(referral, "referral.outcome_overdue").get()
    assert cancel_reason_for(overdue) is None
    services.onward_referral_book(referral=referral, appointment_at=appointment + dt.timedelta(hours=2), by=housing)
    assert "changed" in cancel_reason_for(overdue)

    withdraw_consent(sharing_patient, housing, recorded_by=keyworker, at=NOW - dt.timedelta(seconds=1))
    latest = reminders(referral, "referral.outcome_overdue").exclude(pk=overdue.pk).get()
    assert "consent" in cancel_reason_for(latest)


def test_the_hook_leaves_other_referral_messages_alone(clinic, housing):
    with transaction.atomic():
        message = enqueue_for_partner(
            partner=housing, kind="referral.not_acknowledged", subject="s", body="b", payload={"referral": "R-7"}
        )

    assert cancel_reason_for(message) is None


def test_a_keyworker_without_email_gets_no_silence_message(sharing_patient, housing, keyworker):
    keyworker.email = ""
    keyworker.save()

    referral = make_onward_referral(patient=sharing_patient, partner=housing, created_by=keyworker)

    assert not reminders(referral, "referral.partner_silent").exists()
    assert reminders(referral, "referral.not_acknowledged").exists()


def test_outsider_staff_cannot_change_a_referral(referral, other_keyworker, nurse):
    with pytest.raises(OnwardReferral.DoesNotExist):
        services.onward_referral_add_note(referral=referral, text="hi", by=other_keyworker)
    with pytest.raises(PermissionDenied):
        services.onward_referral_add_note(referral=referral, text="hi", by=nurse)


def test_a_staff_member_with_two_clinics_may_refer_in_either(clinic, other_clinic, housing, sharing_patient):
    both = StaffFactory(username="kai.keyworker", roles=["keyworker"], clinics=[clinic, other_clinic])

    referral = make_onward_referral(patient=sharing_patient, partner=housing, created_by=both)

    assert referral.clinic == clinic
    assert referral.status == OnwardStatus.SENT
