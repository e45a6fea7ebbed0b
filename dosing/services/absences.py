"""Planned absences (hospital, custody, court, holiday): recorded by a keyworker or a prescriber.

The absence's slots are cancelled in the same transaction and the slot job makes none on its
days; its days do not count as missed (S7), but a return after the clinic's absence threshold
needs a prescriber's review and restart dose (holds.py decides it from these rows at dose time).
An absence is planned: it starts today at the earliest, so it can never excuse days already missed.
"""

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinics.access import require_capability_at
from clinics.roles import Capability
from hat_clinic.precompiled import STAND_IN_DAY, STAND_IN_ID, STAND_IN_OTHER_DAY, Precompiled
from patients.models import Patient

from .. import rules
from ..models import OPEN_SLOT_STATUSES, AbsenceReason, PlannedAbsence, Slot, SlotStatus
from ._common import _lock_patient, _now

MAX_ABSENCE_DAYS = 366


def overlapping_absences(*, patient_id, first, last):
    """The patient's absences in force touching [first, last]: the one filter for the list and for S7's facts."""
    return PlannedAbsence.objects.filter(
        patient_id=patient_id, withdrawn_at__isnull=True, ends_on__gte=first, starts_on__lte=last
    ).order_by("starts_on", "pk")


_OVERLAPPING = Precompiled(overlapping_absences, patient_id=STAND_IN_ID, first=STAND_IN_DAY, last=STAND_IN_OTHER_DAY)


def absences_overlapping(*, patient_id: int, first: date, last: date) -> list[PlannedAbsence]:
    """The patient's absences in force that touch [first, last] (index absence_patient_recent). Read before every
    dose (S7): precompiled."""
    return _OVERLAPPING.all(patient_id=patient_id, first=first, last=last)


def days_of(absences) -> set[date]:
    return {absence.starts_on + timedelta(days=offset) for absence in absences for offset in range(absence.days)}


def absent_days(*, patient_id: int, first: date, last: date) -> set[date]:
    """The days in [first, last] on which the patient is away."""
    return {day for day in days_of(absences_overlapping(patient_id=patient_id, first=first, last=last))
            if first <= day <= last}  # fmt: skip


@transaction.atomic
def absence_record(
    *,
    patient: Patient,
    starts_on: date,
    ends_on: date,
    reason: str,
    recorded_by,
    notes: str = "",
    now: datetime | None = None,
) -> PlannedAbsence:
    """Record a planned absence and cancel its slots (S7). A keyworker or a prescriber of the patient's clinic."""
    now = _now(now)
    patient = _lock_patient(patient)
    clinic = patient.clinic
    require_capability_at(
        recorded_by, Capability.HANDLE_REFERRALS, Capability.PRESCRIBE, clinic=clinic, doing="record absences"
    )
    open_since = patient.episodes.filter(ended_on__isnull=True).values_list("started_on", flat=True).first()
    if open_since is None:
        rules.check_open_episode(open_since=None, day=None, for_what="planned absence")
    if reason not in AbsenceReason.values:
        raise ValidationError({"reason": "Reason: choose one from the list."})
    if reason == AbsenceReason.OTHER and not (notes or "").strip():
        raise ValidationError({"notes": "Notes: say why, when the reason is 'Other'."})
    today = timezone.localdate(now, clinic.zone)
    rules.check_absence_dates(starts_on=starts_on, ends_on=ends_on, today=today, max_days=MAX_ABSENCE_DAYS)
    overlapping = absences_overlapping(patient_id=patient.pk, first=starts_on, last=ends_on)
    if overlapping:
        rules.check_absence_dates(
            starts_on=starts_on, ends_on=ends_on, today=today, max_days=MAX_ABSENCE_DAYS, overlaps=overlapping[0]
        )
    absence = PlannedAbsence.objects.create(
        patient=patient,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
        notes=(notes or "").strip(),
        recorded_by=recorded_by,
        recorded_at=now,
    )
    why = f"Planned absence: {absence.get_reason_display()}, {rules.day_month(starts_on)} to {rules.day_month(ends_on)}"
    Slot.objects.filter(
        patient=patient, date__gte=starts_on, date__lte=ends_on, status__in=OPEN_SLOT_STATUSES, window_end__gt=now
    ).update(status=SlotStatus.CANCELLED, status_changed_at=now, status_changed_by=recorded_by, status_reason=why)
    return absence
