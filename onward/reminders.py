"""Reminders about onward referrals (SPEC 6), written to the outbox in the transaction of the change.

When a referral is sent:
- to the partner, `referral.not_acknowledged`, due N working days later (clinic setting, default 2);
- to the keyworker, `referral.partner_silent`, due M working days after that reminder.
When an appointment is booked (or changed):
- to the partner, `referral.appointment_tomorrow`, at 09:00 (clinic time) the day before;
- to the partner, `referral.outcome_overdue`, D days after the appointment (default 7);
- to the keyworker, `referral.partner_silent`, M working days after that.
Each has a dedupe key (none is written twice) and the cancel key `referral.<id>`. Closing or
cancelling cancels them all at once; the `cancel_if("referral.")` hook below drops one whose
cause no longer holds when it comes to be sent (acknowledged in the meantime, appointment
moved, outcome recorded, consent withdrawn), so nothing needless or unlawful goes out.

Content for partners is the minimum: the referral's reference and what is awaited; never a name.
"""

from datetime import datetime, time, timedelta

from django.utils import timezone

from deliveries.registry import cancel_if
from deliveries.services import cancel_messages, enqueue, enqueue_for_partner
from patients.selectors import has_data_sharing_consent
from referrals.rules import add_working_days

from .models import OnwardReferral, OnwardReferralSettings, OnwardStatus

NOT_ACKNOWLEDGED = "referral.not_acknowledged"
APPOINTMENT_TOMORROW = "referral.appointment_tomorrow"
OUTCOME_OVERDUE = "referral.outcome_overdue"
PARTNER_SILENT = "referral.partner_silent"
REMINDER_KINDS = (NOT_ACKNOWLEDGED, APPOINTMENT_TOMORROW, OUTCOME_OVERDUE, PARTNER_SILENT)
DAY_BEFORE_AT = time(9, 0)
ACKNOWLEDGEMENT = "acknowledgement"
OUTCOME = "outcome"


def settings_for(clinic) -> OnwardReferralSettings:
    try:
        return clinic.onward_referral_settings
    except OnwardReferralSettings.DoesNotExist:
        return OnwardReferralSettings(clinic=clinic)


def working_days_later(moment: datetime, days: int, clinic) -> datetime:
    """The same clock time in the clinic, `days` of its working days later (a Friday 14:00 + 2 is Tuesday 14:00)."""
    zone = clinic.zone
    local = timezone.localtime(moment, zone)
    day = add_working_days(local.date(), days, is_working_day=clinic.is_working_day)
    return datetime.combine(day, local.time().replace(microsecond=0), tzinfo=zone)


def _utc_stamp(moment: datetime) -> str:
    return timezone.localtime(moment, timezone.get_fixed_timezone(0)).strftime("%Y%m%dT%H%M%SZ")


def _partner_payload(referral: OnwardReferral, **extra) -> dict:
    return {"reference": referral.reference, "api_path": f"/api/v1/partner/referrals/{referral.reference}/", **extra}


def _local(moment: datetime, referral: OnwardReferral) -> str:
    local = timezone.localtime(moment, referral.clinic.zone)
    return f"{local:%A %-d %B %Y at %H:%M}"


def keyworker_email(referral: OnwardReferral) -> str:
    """The patient's keyworker, else whoever made the referral; "" when neither has an email address."""
    keyworker = referral.patient.keyworker
    return (keyworker.email if keyworker and keyworker.email else referral.created_by.email) or ""


def _silent_after(
    referral: OnwardReferral, reminder_due: datetime, *, waiting_for: str, key: str, now, **payload
) -> None:
    recipient = keyworker_email(referral)
    if not recipient:
        return  # no address to tell; the failed-deliveries page and the timeline still show the silence
    days = settings_for(referral.clinic).silent_after_reminder_working_days
    enqueue(
        kind=PARTNER_SILENT,
        subject=f"No answer from {referral.partner.name} about onward referral {referral.reference}",
        body=(
            f"{referral.partner.name} was reminded about onward referral {referral.reference} "
            f"({waiting_for}) and has not answered for {days} working day(s).\n\n"
            "Open HAT Clinic, Onward referrals, to see the timeline and follow it up."
        ),
        payload={
            "reference": referral.reference,
            "waiting_for": waiting_for,
            "reminded_at": reminder_due.isoformat(),
            **payload,
        },
        recipient_email=recipient,
        clinic=referral.clinic,
        due_at=working_days_later(reminder_due, days, referral.clinic),
        dedupe_key=f"{key}.silent",
        cancel_key=referral.cancel_key,
        now=now,
    )


def schedule_after_sending(referral: OnwardReferral, *, now) -> None:
    """A new referral: remind the partner if it is not acknowledged in time, then tell the keyworker."""
    days = settings_for(referral.clinic).acknowledge_within_working_days
    due = working_days_later(referral.created_at, days, referral.clinic)
    key = f"referral.{referral.pk}.not_acknowledged"
    enqueue_for_partner(
        partner=referral.partner,
        kind=NOT_ACKNOWLEDGED,
        subject=f"Onward referral {referral.reference} is waiting for you",
        body=(
            f"Onward referral {referral.reference} from {referral.clinic.name} has not been acknowledged "
            f"for {days} working day(s).\n\nPlease acknowledge it through the partner API "
            f"(POST /api/v1/partner/referrals/{referral.reference}/acknowledge/) or contact the clinic."
        ),
        payload=_partner_payload(referral, awaiting=ACKNOWLEDGEMENT),
        clinic=referral.clinic,
        due_at=due,
        dedupe_key=key,
        cancel_key=referral.cancel_key,
        now=now,
    )
    _silent_after(referral, due, waiting_for=ACKNOWLEDGEMENT, key=key, now=now)


def schedule_after_booking(referral: OnwardReferral, *, now) -> None:
    """An appointment booked or moved: remind the day before, and when its outcome is overdue."""
    appointment = referral.appointment_at
    stamp = _utc_stamp(appointment)
    zone = referral.clinic.zone
    day_before = datetime.combine(timezone.localtime(appointment, zone).date() - timedelta(days=1), DAY_BEFORE_AT, zone)
    if day_before > now:  # booked for tomorrow afternoon at 10:00 today: the partner has just booked it
        enqueue_for_partner(
            partner=referral.partner,
            kind=APPOINTMENT_TOMORROW,
            subject=f"Appointment tomorrow for onward referral {referral.reference}",
            body=(
                f"The appointment for onward referral {referral.reference} is {_local(appointment, referral)}.\n\n"
                "Afterwards, please record whether the patient attended through the partner API."
            ),
            payload=_partner_payload(referral, awaiting="appointment", appointment_at=appointment.isoformat()),
            clinic=referral.clinic,
            due_at=day_before,
            dedupe_key=f"referral.{referral.pk}.appointment.{stamp}",
            cancel_key=referral.cancel_key,
            now=now,
        )
    overdue_days = settings_for(referral.clinic).outcome_overdue_days
    due = appointment + timedelta(days=overdue_days)
    key = f"referral.{referral.pk}.outcome_overdue.{stamp}"
    enqueue_for_partner(
        partner=referral.partner,
        kind=OUTCOME_OVERDUE,
        subject=f"Outcome overdue for onward referral {referral.reference}",
        body=(
            f"The appointment for onward referral {referral.reference} was {_local(appointment, referral)}; "
            "we have no record of attendance yet.\n\nPlease record it (attended or did not attend) and, when "
            "you are done, close the referral with its outcome through the partner API."
        ),
        payload=_partner_payload(referral, awaiting=OUTCOME, appointment_at=appointment.isoformat()),
        clinic=referral.clinic,
        due_at=due,
        dedupe_key=key,
        cancel_key=referral.cancel_key,
        now=now,
    )
    _silent_after(referral, due, waiting_for=OUTCOME, key=key, now=now, appointment_at=appointment.isoformat())


def cancel_all(referral: OnwardReferral, *, reason: str, now) -> int:
    return cancel_messages(cancel_key=referral.cancel_key, reason=reason, now=now)


def _still_booked(referral: OnwardReferral, payload: dict) -> bool:
    """Still waiting for the appointment the message is about (not moved, attendance not recorded)."""
    return (
        referral.status == OnwardStatus.APPOINTMENT_BOOKED
        and referral.appointment_at is not None
        and referral.appointment_at
        == datetime.fromisoformat(payload.get("appointment_at") or "1970-01-01T00:00:00+00:00")
    )


@cancel_if("referral.")
def onward_reminder_no_longer_due(message) -> str | None:
    """Right before sending: is the reminder's cause still there? (deliveries.registry)"""
    reference = (message.payload or {}).get("reference")
    if message.kind not in REMINDER_KINDS or not reference:
        return None  # not an onward-referral reminder
    referral = OnwardReferral.objects.select_related("patient", "partner").filter(reference=reference).first()
    if referral is None:
        return "The onward referral no longer exists."
    if referral.is_finished:
        return "The onward referral is closed or cancelled."
    if not has_data_sharing_consent(referral.patient, referral.partner):
        return "The patient's data-sharing consent with the partner is no longer live."
    if message.kind == NOT_ACKNOWLEDGED and referral.acknowledged_at is not None:
        return "The partner has acknowledged the referral."
    if message.kind in (APPOINTMENT_TOMORROW, OUTCOME_OVERDUE) and not _still_booked(referral, message.payload):
        return "The appointment was changed, or its attendance recorded."
    if message.kind == PARTNER_SILENT:
        waiting_for = message.payload.get("waiting_for")
        if waiting_for == ACKNOWLEDGEMENT and referral.acknowledged_at is not None:
            return "The partner has acknowledged the referral."
        if waiting_for == OUTCOME and not _still_booked(referral, message.payload):
            return "The appointment was changed, or its attendance recorded."
        reminded_at = message.payload.get("reminded_at")
        spoke = referral.events.filter(by_partner__isnull=False)
        if reminded_at and spoke.filter(at__gte=datetime.fromisoformat(reminded_at)).exists():
            return "The partner has answered since the reminder."
    return None
