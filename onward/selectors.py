"""Reads about onward referrals: for staff (scoped by clinic) and for partners (scoped by consent).

`partner_view(referral)` is the one definition of what a partner sees (SPEC 6, minimum data);
the partner API and the "what the partner sees" preview both use it.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from clinics.access import has_capability
from clinics.roles import Capability
from clinics.selectors import clinics_for
from deliveries.models import OutboxMessage
from deliveries.selectors import messages_about
from partners.models import PartnerOrganisation
from patients.models import ContactRoute, Patient
from patients.selectors import has_data_sharing_consent, patients_for, patients_sharing_with

from .models import OnwardReferral, OnwardReferralEvent, OnwardStatus
from .services import ROUTE_DETAIL_FIELD


def can_handle_onward_referrals(user) -> bool:
    return has_capability(user, Capability.HANDLE_REFERRALS)


def can_see_onward_referrals(user) -> bool:
    """Keyworkers, and clinic managers read-only (SPEC 2)."""
    return can_handle_onward_referrals(user) or has_capability(user, Capability.VIEW_REFERRALS)


def onward_referrals_for(user) -> QuerySet[OnwardReferral]:
    """The onward referrals of this keyworker's (or manager's) clinics."""
    if not can_see_onward_referrals(user):
        return OnwardReferral.objects.none()
    return OnwardReferral.objects.filter(clinic__in=clinics_for(user))


def onward_referral_list(user, *, clinic=None, patient: Patient | None = None, status: str = ""):
    referrals = onward_referrals_for(user).select_related("patient", "partner", "clinic")
    if clinic is not None and patient is None:
        referrals = referrals.filter(clinic=clinic)
    if patient is not None:
        referrals = referrals.filter(patient=patient)
    if status == "open":
        referrals = referrals.exclude(status__in=["closed", "cancelled"])
    elif status:
        referrals = referrals.filter(status=status)
    return referrals.order_by("-created_at", "-pk")


def onward_referral_detail(user, pk: int) -> OnwardReferral:
    """Raises OnwardReferral.DoesNotExist for another clinic's."""
    return (
        onward_referrals_for(user)
        .select_related("patient", "patient__keyworker", "partner", "clinic", "created_by")
        .get(pk=pk)
    )


def patient_for_onward_referrals(user, pk) -> Patient:
    """A patient of the user's clinics (raises Patient.DoesNotExist otherwise)."""
    return patients_for(user).select_related("clinic").get(pk=pk)


def partners_with_consent(patient: Patient, *, at=None) -> list[PartnerOrganisation]:
    """Active partners of the patient's clinic with whom the patient's data-sharing consent is live now."""
    partners = PartnerOrganisation.objects.filter(clinics=patient.clinic_id, is_active=True).order_by("name")
    return [partner for partner in partners if has_data_sharing_consent(patient, partner, at=at)]


def onward_referrals_for_partner(partner: PartnerOrganisation, *, clinic, at=None) -> QuerySet[OnwardReferral]:
    """A partner's referrals from `clinic` (the one its API client was issued for), only of patients whose
    data-sharing consent with it is live now (SPEC 6).

    Withdrawn a second ago: gone from here at once, so the partner gets 404, not the referral.
    A partner working with several clinics has a client per clinic; one never reads another's.
    """
    sharing = patients_sharing_with(partner, at=at or timezone.now()).values("pk")
    return OnwardReferral.objects.filter(partner=partner, clinic=clinic, patient__in=sharing).select_related(
        "patient", "clinic"
    )


def contact_detail(referral: OnwardReferral) -> str:
    """The detail for the agreed route only: the phone for phone or text, the email for email, and so on.

    For "at the clinic" and "through the keyworker" it is the clinic's phone: the patient's own is not shared.
    """
    field = ROUTE_DETAIL_FIELD.get(referral.contact_route)
    if field:
        return (getattr(referral.patient, field) or "").strip()
    if referral.contact_route in (ContactRoute.AT_CLINIC, ContactRoute.VIA_KEYWORKER):
        return referral.clinic.phone
    return ""


def partner_view(referral: OnwardReferral) -> dict:
    """Everything a partner sees about a referral, and nothing more (SPEC 6)."""
    patient = referral.patient
    return {
        "reference": referral.reference,
        "status": referral.status,
        "patient": {
            "first_name": patient.given_name,
            "family_name_initial": patient.family_name[:1].upper(),
        },
        "contact_route": referral.contact_route,
        "contact_detail": contact_detail(referral),
        "need_kind": referral.need_kind,
        "need": referral.need,
        "clinic": referral.clinic.name,
        "referred_at": referral.created_at,
        "acknowledged_at": referral.acknowledged_at,
        "appointment_at": referral.appointment_at,
        "outcome": referral.outcome or None,
        "closed_at": referral.finished_at if referral.status == "closed" else None,
        "updated_at": referral.updated_at,
        "version": referral.version,
    }


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "event", "message" or "attempt"
    event: OnwardReferralEvent | None = None
    message: OutboxMessage | None = None
    attempt: object = None


def deliveries_of(referral: OnwardReferral) -> QuerySet[OutboxMessage]:
    """The reminders written about this referral, with their delivery attempts."""
    return messages_about(referral.cancel_key).select_related("partner").order_by("due_at", "pk")


def timeline_of(referral: OnwardReferral) -> list[TimelineEntry]:
    """Status changes, notes and partner actions, with each reminder sent and each delivery attempt, in order."""
    entries = [
        TimelineEntry(at=event.at, kind="event", event=event)
        for event in referral.events.select_related("by_user", "by_partner")
    ]
    for message in deliveries_of(referral):
        for attempt in message.delivery_attempts.all():
            entries.append(TimelineEntry(at=attempt.started_at, kind="attempt", message=message, attempt=attempt))
        if message.status == "cancelled" and message.cancelled_at:
            entries.append(TimelineEntry(at=message.cancelled_at, kind="message", message=message))
    entries.sort(key=lambda entry: entry.at)
    return entries


def onward_referrals_unacknowledged(user, clinic) -> int:
    """Onward referrals the partner has not acknowledged yet (reminders chase them; the keyworker follows up)."""
    return onward_referral_list(user, clinic=clinic, status=OnwardStatus.SENT).count()
