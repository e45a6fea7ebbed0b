"""Reads for diversion contracts: what a partner may read, and the weekly attendance summary.

A partner reads a contract only while all of these hold (issue 16; each checked on every read):
it is a police or probation partner; the contract is addressed to it and belongs to the clinic
its API client was issued for; the keyworker has not ended the contract and its end date is at
most READ_AFTER_END days past (so the last week can be read); the treatment episode the contract
was recorded in is open; and the patient's data-sharing consent with that partner is live.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from clinics.access import has_capability
from clinics.models import Clinic
from clinics.roles import Capability
from clinics.selectors import clinics_for
from dosing.attendance import attendance_between, last_attended_on
from patients.selectors import patients_sharing_with

from ..models import DIVERSION_PARTNER_KINDS, DiversionContract, EngagementCondition

# After its end date a partner may still read a contract for a week: the last week's summary.
READ_AFTER_END = timedelta(days=7)


def local_today(clinic, now=None) -> date:
    return timezone.localdate(now or timezone.now(), clinic.zone)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def live_contracts(*, at=None) -> QuerySet[DiversionContract]:
    """Contracts not ended by the keyworker, of an open episode, with a partner of a diversion kind.

    Consent and the end date are per partner and per clinic: `readable_contracts` and
    `contract_is_live` check them.
    """
    return DiversionContract.objects.filter(
        ended_at__isnull=True,
        episode__ended_on__isnull=True,
        partner__kind__in=DIVERSION_PARTNER_KINDS,
        partner__is_active=True,
    ).select_related("patient", "clinic", "partner", "episode")


def readable_contracts(partner, *, clinic_id: int, at=None) -> QuerySet[DiversionContract]:
    """The contracts `partner` may read through an API client issued for `clinic_id`, now (see the module)."""
    at = at or timezone.now()
    clinic = Clinic.objects.get(pk=clinic_id)
    return (
        live_contracts(at=at)
        .filter(
            partner=partner,
            clinic=clinic,
            patient__in=patients_sharing_with(partner, at=at).values("pk"),
            ends_on__gte=local_today(clinic, at) - READ_AFTER_END,
        )
        .order_by("starts_on", "pk")
    )


def readable_contract(partner, reference: str, *, clinic_id: int, at=None) -> DiversionContract | None:
    return readable_contracts(partner, clinic_id=clinic_id, at=at).filter(reference=reference).first()


def contract_is_live(contract: DiversionContract, *, at=None, episode_may_have_ended: bool = False) -> str | None:
    """None when the partner may still hear about this contract; otherwise why not (no identifiers)."""
    at = at or timezone.now()
    contract = DiversionContract.objects.select_related("episode", "partner", "clinic").get(pk=contract.pk)
    if contract.ended_at is not None:
        return "The diversion contract has ended."
    if contract.partner.kind not in DIVERSION_PARTNER_KINDS or not contract.partner.is_active:
        return "The partner may not receive diversion confirmations."
    if contract.episode.ended_on is not None and not episode_may_have_ended:
        return "The treatment episode has ended."
    if not patients_sharing_with(contract.partner, at=at).filter(pk=contract.patient_id).exists():
        return "The patient's data-sharing consent with the partner is not in force."
    return None


@dataclass(frozen=True)
class WeekSummary:
    contract: str
    partner_reference: str
    week_start: date
    week_end: date
    week_complete: bool
    condition: str
    condition_count: int
    condition_text: str
    attended: bool
    sessions_attended: int
    sessions_expected: int
    days_attended: int
    last_attended_on: date | None
    in_treatment: bool

    def as_payload(self) -> dict:
        """The webhook's `data` and the API's answer: the same fields (see DIVERSION_WEEK_FIELDS)."""
        return {
            "contract": self.contract,
            "partner_reference": self.partner_reference,
            "week_start": self.week_start.isoformat(),
            "week_end": self.week_end.isoformat(),
            "week_complete": self.week_complete,
            "condition": self.condition,
            "condition_count": self.condition_count,
            "condition_text": self.condition_text,
            "attended": self.attended,
            "sessions_attended": self.sessions_attended,
            "sessions_expected": self.sessions_expected,
            "days_attended": self.days_attended,
            "last_attended_on": self.last_attended_on.isoformat() if self.last_attended_on else None,
            "in_treatment": self.in_treatment,
        }


class WeekOutsideContract(ValueError):
    pass


def week_summary(contract: DiversionContract, week_start: date, *, now=None) -> WeekSummary:
    """Attendance of the contract's patient in the week (Monday to Sunday, clinic-local) from `week_start`.

    Only the days of the week inside the contract and up to today count. The condition is met when
    the patient attended at least N sessions (or on N days); a week still running is judged on the
    days so far (`week_complete` says which).
    """
    if week_start.weekday() != 0:
        raise WeekOutsideContract("week_start must be a Monday.")
    today = local_today(contract.clinic, now)
    week_end = week_start + timedelta(days=6)
    if week_end < contract.starts_on or week_start > contract.ends_on:
        raise WeekOutsideContract("The week is outside the contract's dates.")
    if week_start > today:
        raise WeekOutsideContract("The week has not started yet.")
    first, last = max(week_start, contract.starts_on), min(week_end, contract.ends_on, today)
    counted = attendance_between(contract.patient, first, last)
    if contract.condition == EngagementCondition.DAYS_PER_WEEK:
        met = counted.days_attended >= contract.condition_count
    else:
        met = counted.sessions_attended >= contract.condition_count
    return WeekSummary(
        contract=contract.reference,
        partner_reference=contract.partner_reference,
        week_start=week_start,
        week_end=week_end,
        week_complete=today > week_end,
        condition=contract.condition,
        condition_count=contract.condition_count,
        condition_text=contract.condition_text,
        attended=met,
        sessions_attended=counted.sessions_attended,
        sessions_expected=counted.sessions_expected,
        days_attended=counted.days_attended,
        last_attended_on=last_attended_on(contract.patient, since=contract.starts_on, until=last),
        in_treatment=contract.episode.ended_on is None,
    )


# --- Staff pages ------------------------------------------------------------------------------


def can_handle_contracts(user) -> bool:
    return has_capability(user, Capability.HANDLE_REFERRALS)


def contracts_of_patient(user, patient) -> QuerySet[DiversionContract]:
    return (
        DiversionContract.objects.filter(patient=patient, clinic__in=clinics_for(user))
        .select_related("partner", "episode", "created_by", "ended_by")
        .order_by("-starts_on", "-pk")
    )
