"""Writes about onward referrals to partner agencies (SPEC 3.7, 6), as keyword-only functions.

Every transition locks the referral row, checks the caller's expected version (the ETag the
partner read) under that lock, returns early when the work is already done (a retried call
changes nothing), refuses a move that the table below does not allow with a 400 naming
`status`, writes a timeline event, and writes or cancels the reminders in the same
transaction (the outbox: deliveries.services.enqueue).

`by` is a member of staff (a User) or a partner organisation (through the partner API).
"""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from clinics.access import has_capability
from clinics.roles import Capability
from clinics.selectors import clinics_for
from partners.models import PartnerOrganisation
from patients.models import ContactRoute, Patient
from patients.selectors import has_data_sharing_consent

from . import reminders
from .models import (
    FINISHED_ONWARD_STATUSES,
    NeedKind,
    OnwardEventKind,
    OnwardOutcome,
    OnwardReferral,
    OnwardReferralEvent,
    OnwardStatus,
)

S = OnwardStatus

# The moves an onward referral may make. Booking again from "appointment booked" changes the
# appointment; from "did not attend" or "attended" it books another one.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.SENT: frozenset({S.ACKNOWLEDGED, S.APPOINTMENT_BOOKED, S.CLOSED, S.CANCELLED}),
    S.ACKNOWLEDGED: frozenset({S.APPOINTMENT_BOOKED, S.CLOSED, S.CANCELLED}),
    S.APPOINTMENT_BOOKED: frozenset({S.APPOINTMENT_BOOKED, S.ATTENDED, S.DID_NOT_ATTEND, S.CLOSED, S.CANCELLED}),
    S.ATTENDED: frozenset({S.APPOINTMENT_BOOKED, S.CLOSED}),
    S.DID_NOT_ATTEND: frozenset({S.APPOINTMENT_BOOKED, S.CLOSED, S.CANCELLED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}
# Only the clinic cancels (the patient changed their mind, consent was withdrawn); partners close with an outcome.
STAFF_ONLY_TARGETS = frozenset({S.CANCELLED})
# An appointment further ahead than this is a typing mistake.
FURTHEST_APPOINTMENT = timedelta(days=366)
# Contact routes that need a detail on the patient's record, and where it is.
ROUTE_DETAIL_FIELD = {
    ContactRoute.PHONE: "phone",
    ContactRoute.TEXT: "phone",
    ContactRoute.EMAIL: "email",
    ContactRoute.POST: "address",
}


class VersionMismatch(Exception):
    """The caller changed a version of the referral that is no longer the current one (HTTP 412)."""

    def __init__(self, current: OnwardReferral):
        super().__init__("The onward referral has changed since you read it.")
        self.current = current


def _is_partner(by) -> bool:
    return isinstance(by, PartnerOrganisation)


def _event_by(by) -> dict:
    return {"by_partner": by} if _is_partner(by) else {"by_user": by}


def _check_staff(user, clinic_id: int) -> None:
    if not has_capability(user, Capability.HANDLE_REFERRALS):
        raise PermissionDenied("Onward referrals are for keyworkers.")
    if not clinics_for(user).filter(pk=clinic_id).exists():
        raise OnwardReferral.DoesNotExist("No such onward referral in your clinics.")


def _locked(referral: OnwardReferral, by, expected_version: int | None) -> OnwardReferral:
    """The referral, locked; refused as not found to a partner it is not (or no longer) visible to."""
    referral = (
        OnwardReferral.objects.select_for_update(of=("self",))
        .select_related("clinic", "partner", "patient")
        .get(pk=referral.pk)
    )
    if _is_partner(by):
        # SPEC 6: another partner's referral, or one without live consent, does not exist for this partner.
        if referral.partner_id != by.pk or not has_data_sharing_consent(referral.patient, by):
            raise OnwardReferral.DoesNotExist("No such onward referral.")
    else:
        _check_staff(by, referral.clinic_id)
    if expected_version is not None and expected_version != referral.version:
        raise VersionMismatch(referral)
    return referral


def _refuse_move(referral: OnwardReferral, target: str, by) -> None:
    if _is_partner(by) and target in STAFF_ONLY_TARGETS:
        raise ValidationError({"status": "Only the clinic can cancel a referral; close it with an outcome instead."})
    if target not in ALLOWED_TRANSITIONS[referral.status]:
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[referral.status])) or "nothing: it is finished"
        raise ValidationError(
            {
                "status": (
                    f"This referral is {referral.get_status_display().lower()}; it cannot become "
                    f"'{target}'. From here it can become: {allowed}."
                )
            },
            code="invalid_transition",
        )


def _save(referral: OnwardReferral, *, now, fields: list[str]) -> None:
    referral.version += 1
    referral.updated_at = now
    referral.save(update_fields=[*fields, "version", "updated_at"])


def _event(referral: OnwardReferral, by, *, now, kind: str, from_status: str = "", **fields) -> OnwardReferralEvent:
    return OnwardReferralEvent.objects.create(
        referral=referral,
        kind=kind,
        from_status=from_status,
        to_status=fields.pop("to_status", referral.status if kind != OnwardEventKind.NOTE else ""),
        at=now,
        **_event_by(by),
        **fields,
    )


def contact_detail_missing(patient: Patient, route: str) -> str:
    """Why this contact route cannot be used for the patient, or "" when it can."""
    field = ROUTE_DETAIL_FIELD.get(route)
    if field and not (getattr(patient, field) or "").strip():
        what = {"phone": "phone number", "email": "email address", "address": "postal address"}[field]
        return f"The patient's record has no {what}: add it, or agree another contact route with them."
    return ""


@transaction.atomic
def onward_referral_create(
    *,
    patient: Patient,
    partner: PartnerOrganisation,
    need_kind: str,
    need: str,
    contact_route: str,
    created_by,
    note: str = "",
    now=None,
) -> OnwardReferral:
    """A keyworker refers a patient to a partner. Needs the patient's live data-sharing consent for it (SPEC 3.3)."""
    now = now or timezone.now()
    if not has_capability(created_by, Capability.HANDLE_REFERRALS):
        raise PermissionDenied("Onward referrals are made by keyworkers.")
    patient = Patient.objects.select_for_update(of=("self",)).select_related("clinic", "keyworker").get(pk=patient.pk)
    if not clinics_for(created_by).filter(pk=patient.clinic_id).exists():
        raise Patient.DoesNotExist("No such patient in your clinics.")
    errors: dict[str, str] = {}
    if not partner.is_active or not partner.clinics.filter(pk=patient.clinic_id).exists():
        errors["partner"] = f"{partner.name} is not an active partner of {patient.clinic.name}."
    elif not has_data_sharing_consent(patient, partner, at=now):
        errors["partner"] = (
            f"The patient has no live consent to share their details with {partner.name}. "
            "Record their data-sharing consent first (on the patient's record, Consents)."
        )
    if need_kind not in NeedKind.values:
        errors["need_kind"] = "Choose the kind of need from the list."
    need = (need or "").strip()
    if not need:
        errors["need"] = "Say what the patient needs from the partner."
    elif len(need) > 2000:
        errors["need"] = "Use at most 2000 characters."
    if contact_route not in ContactRoute.values:
        errors["contact_route"] = "Choose the contact route agreed with the patient."
    elif missing := contact_detail_missing(patient, contact_route):
        errors["contact_route"] = missing
    if errors:
        raise ValidationError(errors)
    referral = OnwardReferral.objects.create(
        patient=patient,
        clinic=patient.clinic,
        partner=partner,
        need_kind=need_kind,
        need=need,
        contact_route=contact_route,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    _event(referral, created_by, now=now, kind=OnwardEventKind.CREATED, to_status=S.SENT, text=(note or "").strip())
    reminders.schedule_after_sending(referral, now=now)
    return referral


@transaction.atomic
def onward_referral_acknowledge(*, referral: OnwardReferral, by, expected_version: int | None = None, now=None):
    now = now or timezone.now()
    referral = _locked(referral, by, expected_version)
    if referral.acknowledged_at is not None and referral.status not in FINISHED_ONWARD_STATUSES:
        return referral  # acknowledged already (perhaps by booking): nothing to do
    _refuse_move(referral, S.ACKNOWLEDGED, by)
    before = referral.status
    referral.status = S.ACKNOWLEDGED
    referral.acknowledged_at = now
    _save(referral, now=now, fields=["status", "acknowledged_at"])
    _event(referral, by, now=now, kind=OnwardEventKind.STATUS, from_status=before)
    return referral


def _check_appointment(appointment_at, *, now) -> datetime:
    if not isinstance(appointment_at, datetime):
        raise ValidationError({"appointment_at": "Give the appointment's date and time (ISO 8601)."})
    if timezone.is_naive(appointment_at):
        raise ValidationError(
            {"appointment_at": "Give the time zone too, e.g. 2026-11-30T10:00:00Z or 2026-11-30T10:00:00+00:00."}
        )
    if appointment_at <= now:
        raise ValidationError({"appointment_at": "The appointment is in the past; give a date and time to come."})
    if appointment_at > now + FURTHEST_APPOINTMENT:
        raise ValidationError({"appointment_at": "The appointment is more than a year away; please check the date."})
    return appointment_at.astimezone(UTC)


@transaction.atomic
def onward_referral_book(
    *, referral: OnwardReferral, appointment_at, by, expected_version: int | None = None, now=None
) -> OnwardReferral:
    """Book an appointment, or change the booked one. Reminders for the old time are cancelled by the hook."""
    now = now or timezone.now()
    referral = _locked(referral, by, expected_version)
    if referral.status == S.APPOINTMENT_BOOKED and referral.appointment_at == appointment_at:
        return referral  # booked for this time already
    _refuse_move(referral, S.APPOINTMENT_BOOKED, by)
    appointment_at = _check_appointment(appointment_at, now=now)
    before = referral.status
    referral.status = S.APPOINTMENT_BOOKED
    referral.appointment_at = appointment_at
    fields = ["status", "appointment_at"]
    if referral.acknowledged_at is None:
        referral.acknowledged_at = now  # booking answers the referral
        fields.append("acknowledged_at")
    _save(referral, now=now, fields=fields)
    _event(referral, by, now=now, kind=OnwardEventKind.APPOINTMENT, from_status=before, appointment_at=appointment_at)
    reminders.schedule_after_booking(referral, now=now)
    return referral


@transaction.atomic
def onward_referral_record_attendance(
    *, referral: OnwardReferral, attended: bool, by, expected_version: int | None = None, now=None
) -> OnwardReferral:
    now = now or timezone.now()
    referral = _locked(referral, by, expected_version)
    target = S.ATTENDED if attended else S.DID_NOT_ATTEND
    if referral.status == target:
        return referral
    _refuse_move(referral, target, by)
    if referral.appointment_at and referral.appointment_at > now:
        local = timezone.localtime(referral.appointment_at, referral.clinic.zone)
        raise ValidationError(
            {"status": f"The appointment is on {local:%-d %b %Y at %H:%M}; record attendance after it has started."}
        )
    before = referral.status
    referral.status = target
    _save(referral, now=now, fields=["status"])
    _event(referral, by, now=now, kind=OnwardEventKind.STATUS, from_status=before)
    return referral


@transaction.atomic
def onward_referral_close(
    *, referral: OnwardReferral, outcome: str, by, notes: str = "", expected_version: int | None = None, now=None
) -> OnwardReferral:
    """Close with an outcome; every waiting reminder about the referral is cancelled in this transaction."""
    now = now or timezone.now()
    notes = (notes or "").strip()
    if outcome not in OnwardOutcome.values:
        raise ValidationError({"outcome": f"Choose an outcome: {', '.join(OnwardOutcome.values)}."})
    referral = _locked(referral, by, expected_version)
    if referral.status == S.CLOSED:
        if referral.outcome == outcome:
            return referral  # closed with this outcome already
        raise ValidationError({"status": "This referral is closed already, with another outcome."})
    _refuse_move(referral, S.CLOSED, by)
    before = referral.status
    referral.status = S.CLOSED
    referral.outcome = outcome
    referral.outcome_notes = notes
    referral.finished_at = now
    _save(referral, now=now, fields=["status", "outcome", "outcome_notes", "finished_at"])
    _event(referral, by, now=now, kind=OnwardEventKind.STATUS, from_status=before, outcome=outcome, text=notes)
    reminders.cancel_all(referral, reason="The referral was closed.", now=now)
    return referral


@transaction.atomic
def onward_referral_cancel(
    *, referral: OnwardReferral, reason: str, by, expected_version: int | None = None, now=None
) -> OnwardReferral:
    """The clinic cancels (the patient no longer wants it, consent was withdrawn): reminders stop at once."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if _is_partner(by):
        raise ValidationError({"status": "Only the clinic can cancel a referral; close it with an outcome instead."})
    if not reason:
        raise ValidationError({"reason": "Say why the referral is cancelled."})
    referral = _locked(referral, by, expected_version)
    if referral.status == S.CANCELLED:
        return referral
    _refuse_move(referral, S.CANCELLED, by)
    before = referral.status
    referral.status = S.CANCELLED
    referral.cancel_reason = reason
    referral.finished_at = now
    _save(referral, now=now, fields=["status", "cancel_reason", "finished_at"])
    _event(referral, by, now=now, kind=OnwardEventKind.STATUS, from_status=before, text=reason)
    reminders.cancel_all(referral, reason="The referral was cancelled.", now=now)
    return referral


@transaction.atomic
def onward_referral_add_note(
    *, referral: OnwardReferral, text: str, by, expected_version: int | None = None, now=None
) -> OnwardReferralEvent:
    """A note on the timeline. It does not change the referral (nor its version), so needs no If-Match."""
    now = now or timezone.now()
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the note."})
    if len(text) > 4000:
        raise ValidationError({"text": "Use at most 4000 characters."})
    referral = _locked(referral, by, expected_version)
    return _event(referral, by, now=now, kind=OnwardEventKind.NOTE, text=text)


def onward_referral_change_status(
    *,
    referral: OnwardReferral,
    status: str,
    by,
    appointment_at=None,
    outcome: str = "",
    notes: str = "",
    reason: str = "",
    expected_version: int | None = None,
    now=None,
) -> OnwardReferral:
    """One entry point for "set the status to X" (the staff page and API): each status has its own service."""
    common = {"referral": referral, "by": by, "expected_version": expected_version, "now": now}
    if status == S.ACKNOWLEDGED:
        return onward_referral_acknowledge(**common)
    if status == S.APPOINTMENT_BOOKED:
        if appointment_at is None:
            raise ValidationError({"appointment_at": "Give the appointment's date and time."})
        return onward_referral_book(appointment_at=appointment_at, **common)
    if status in (S.ATTENDED, S.DID_NOT_ATTEND):
        return onward_referral_record_attendance(attended=status == S.ATTENDED, **common)
    if status == S.CLOSED:
        return onward_referral_close(outcome=outcome, notes=notes, **common)
    if status == S.CANCELLED:
        return onward_referral_cancel(reason=reason or notes, **common)
    raise ValidationError({"status": f"Choose a status to move to: {', '.join(v for v in S.values if v != S.SENT)}."})
