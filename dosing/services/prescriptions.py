"""Prescriptions: sign, change (a new version superseding the old, never an edit) and stop.

The doses are checked against the clinic's limits (S2, S4, S8) before anything is saved; the
open slots follow the live version, and a stopped prescription's are cancelled.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinics.access import require_capability_at
from clinics.models import Clinic
from clinics.roles import Capability
from patients.models import Patient
from patients.selectors import has_treatment_consent

from .. import rules
from ..models import (
    INJECTABLE_DRUGS,
    OPEN_SLOT_STATUSES,
    DosingSettings,
    Drug,
    Prescription,
    Session,
    Slot,
    SlotStatus,
    Supply,
)
from ._common import _decimal, _lock_patient, _now
from .absences import absent_days
from .licences import check_licence
from .slots import _create_slots_for_clinic
from .topups import check_top_up

PRESCRIPTION_FIELDS = (
    "route",
    "supply",
    "morning_dose_mg",
    "afternoon_dose_mg",
    "evening_dose_mg",
    "daily_max_mg",
    "starts_on",
    "ends_on",
    "is_titration",
    "notes",
)


MG_FIELDS = ("morning_dose_mg", "afternoon_dose_mg", "evening_dose_mg", "daily_max_mg")


def _validate_prescription(prescription: Prescription, *, settings: DosingSettings, today: date) -> None:
    rules.check_prescription_doses(
        drug=prescription.drug,
        route=prescription.route,
        supply=prescription.supply,
        doses={session: prescription.dose_for(session) for session in Session.values},
        daily_max_mg=prescription.daily_max_mg,
        settings=settings,
    )
    check_licence(prescription=prescription, clinic=settings.clinic, day=today)  # S14
    check_top_up(prescription)  # S2: an oral top-up beside the injectable is once a day
    if prescription.starts_on is None:
        raise ValidationError({"starts_on": "Give the start date."})
    if prescription.starts_on < today:
        raise ValidationError({"starts_on": "A prescription cannot start in the past."})
    if prescription.ends_on is not None and prescription.ends_on < prescription.starts_on:
        raise ValidationError({"ends_on": "A prescription cannot end before it starts."})
    prescription.full_clean(exclude=["supersedes"], validate_constraints=False)


def _move_open_slots(*, old: Prescription, new: Prescription | None, now: datetime, by, reason: str) -> None:
    """Open slots follow the new version (its dose applies at once), or are cancelled when stopped."""
    open_slots = Slot.objects.filter(prescription=old, status__in=OPEN_SLOT_STATUSES)
    if new is not None:
        open_slots.update(prescription=new)
    else:
        open_slots.update(
            status=SlotStatus.CANCELLED, status_changed_at=now, status_changed_by=by, status_reason=reason
        )


@transaction.atomic
def prescription_create(
    *,
    patient: Patient,
    prescriber,
    drug: str,
    route: str,
    daily_max_mg: Decimal,
    starts_on: date,
    morning_dose_mg: Decimal | None = None,
    afternoon_dose_mg: Decimal | None = None,
    evening_dose_mg: Decimal | None = None,
    ends_on: date | None = None,
    is_titration: bool = False,
    supply: str = Supply.SUPERVISED,
    notes: str = "",
    now: datetime | None = None,
) -> Prescription:
    """Sign a new prescription for a drug the patient has no live prescription for (S2, S4, S8).

    Needs treatment consent and an open episode. Today's and tomorrow's slots are made at once
    so the patient appears on the board without waiting for the scheduled job.
    """
    now = _now(now)
    morning_dose_mg = _decimal(morning_dose_mg, "morning_dose_mg")
    afternoon_dose_mg = _decimal(afternoon_dose_mg, "afternoon_dose_mg")
    evening_dose_mg = _decimal(evening_dose_mg, "evening_dose_mg")
    daily_max_mg = _decimal(daily_max_mg, "daily_max_mg")
    patient = _lock_patient(patient)
    clinic = patient.clinic
    require_capability_at(prescriber, Capability.PRESCRIBE, clinic=clinic, doing="prescribe")
    rules.check_treatment_consent(has_consent=has_treatment_consent(patient, at=now), for_what="prescription")
    _check_open_episode_for_prescription(patient)  # S13
    if drug not in Drug.values:
        raise ValidationError({"drug": "Choose one of the listed drugs."})
    live = Prescription.objects.live().filter(patient=patient)
    if live.filter(drug=drug).exists():
        raise ValidationError({"drug": "This patient already has a prescription for this drug; change it instead."})
    if drug in INJECTABLE_DRUGS and live.filter(drug__in=INJECTABLE_DRUGS).exists():
        raise ValidationError({"drug": "This patient already has an injectable prescription; stop it first."})
    settings = DosingSettings.for_clinic(clinic)
    prescription = Prescription(
        patient=patient,
        drug=drug,
        route=route,
        supply=supply,
        morning_dose_mg=morning_dose_mg,
        afternoon_dose_mg=afternoon_dose_mg,
        evening_dose_mg=evening_dose_mg,
        daily_max_mg=daily_max_mg,
        starts_on=starts_on,
        ends_on=ends_on,
        is_titration=is_titration,
        notes=notes,
        prescriber=prescriber,
        signed_at=now,
    )
    _validate_prescription(prescription, settings=settings, today=timezone.localdate(now, clinic.zone))
    prescription.save()
    _take_over_slots_of_stopped(new=prescription, by=prescriber, now=now)
    _create_slots_for_clinic(clinic=clinic, days_ahead=1, now=now, patient_ids=[patient.pk])
    return prescription


@transaction.atomic
def prescription_change(*, prescription: Prescription, prescriber, now: datetime | None = None, **changes):
    """Sign a new version that supersedes `prescription` (never an edit); returns the new version.

    `changes` are any of PRESCRIPTION_FIELDS; the rest is carried over. A titration step is a
    change with `is_titration=True`. The new version applies from today unless `starts_on` says
    later; today's open slots follow it at once. A stale form (the version was changed or
    stopped since it was shown) is refused.
    """
    now = _now(now)
    unknown = set(changes) - set(PRESCRIPTION_FIELDS)
    if unknown:
        raise ValidationError({field: "This cannot be changed; write a new prescription." for field in unknown})
    _lock_patient(prescription.patient)
    old = Prescription.objects.select_for_update().select_related("patient__clinic").get(pk=prescription.pk)
    clinic = old.patient.clinic
    require_capability_at(prescriber, Capability.PRESCRIBE, clinic=clinic, doing="prescribe")
    _refuse_stale(old, clinic)
    rules.check_treatment_consent(has_consent=has_treatment_consent(old.patient, at=now), for_what="prescription")
    _check_open_episode_for_prescription(old.patient)  # S13
    today = timezone.localdate(now, clinic.zone)
    new = Prescription(
        patient=old.patient,
        drug=old.drug,
        prescriber=prescriber,
        signed_at=now,
        supersedes=old,
        **{field: getattr(old, field) for field in PRESCRIPTION_FIELDS},
    )
    if "starts_on" not in changes:
        new.starts_on = max(old.starts_on, today)
    elif old.starts_on <= today and changes["starts_on"] != today:
        # One live version at a time: a change to a running prescription applies from today.
        raise ValidationError({"starts_on": "A change to a running prescription takes effect today."})
    for field, value in changes.items():
        setattr(new, field, _decimal(value, field) if field in MG_FIELDS else value)
    _validate_prescription(new, settings=DosingSettings.for_clinic(clinic), today=today)
    old.superseded_at = now
    old.save(update_fields=["superseded_at"])
    new.save()
    _move_open_slots(old=old, new=new, now=now, by=prescriber, reason="")
    _create_slots_for_clinic(clinic=clinic, days_ahead=1, now=now, patient_ids=[old.patient_id])
    return new


def _take_over_slots_of_stopped(*, new: Prescription, by, now: datetime) -> int:
    """Stopped and re-prescribed on the same day: the new prescription takes over the slots still to come.

    Stopping (or a discharge) cancelled them, and the one-slot-per-session constraint would keep
    the patient off the board until tomorrow. Only slots nobody dosed, whose window has not ended,
    that the new prescription doses in, and not on a day of a planned absence. A new oral
    prescription beside a live injectable takes nothing (the injectable holds the sessions).
    """
    if (
        not new.is_injectable
        and Prescription.objects.live().filter(patient_id=new.patient_id, drug__in=INJECTABLE_DRUGS).exists()
    ):
        return 0
    sessions = [session for session in Session.values if new.dose_for(session) is not None]
    slots = Slot.objects.filter(
        patient_id=new.patient_id,
        status=SlotStatus.CANCELLED,
        prescription__stopped_at__isnull=False,
        window_end__gt=now,
        date__gte=new.starts_on,
        session__in=sessions,
        administrations__isnull=True,
    )
    today = timezone.localdate(now, new.patient.clinic.zone)
    slots = slots.exclude(date__in=absent_days(patient_id=new.patient_id, first=today, last=today + timedelta(days=7)))
    if new.ends_on is not None:
        slots = slots.filter(date__lte=new.ends_on)
    return Slot.objects.filter(pk__in=list(slots.values_list("pk", flat=True))).update(
        prescription=new,
        status=SlotStatus.SCHEDULED,
        status_changed_at=now,
        status_changed_by=by,
        status_reason="Taken over by a new prescription",
    )


def _check_open_episode_for_prescription(patient: Patient) -> None:
    """S13: a prescription only inside an open treatment episode (a discharged patient is re-admitted first)."""
    open_since = patient.episodes.filter(ended_on__isnull=True).values_list("started_on", flat=True).first()
    if open_since is None:
        rules.check_open_episode(open_since=None, day=None, for_what="prescription")


def _refuse_stale(prescription: Prescription, clinic: Clinic) -> None:
    if prescription.superseded_at is not None:
        raise ValidationError(
            f"This prescription was replaced by a newer version at "
            f"{rules.hhmm(prescription.superseded_at, clinic.zone)}; review the current version."
        )
    if prescription.stopped_at is not None:
        raise ValidationError(
            f"This prescription was stopped at {rules.hhmm(prescription.stopped_at, clinic.zone)} "
            f"on {rules.day_month(timezone.localdate(prescription.stopped_at, clinic.zone))}."
        )


@transaction.atomic
def prescription_stop(*, prescription: Prescription, prescriber, reason: str, now: datetime | None = None):
    """Stop the live version now (dated by `stopped_at`); open slots are cancelled. Idempotent."""
    now = _now(now)
    _lock_patient(prescription.patient)
    current = Prescription.objects.select_for_update().select_related("patient__clinic").get(pk=prescription.pk)
    clinic = current.patient.clinic
    require_capability_at(prescriber, Capability.PRESCRIBE, clinic=clinic, doing="stop prescriptions")
    if current.stopped_at is not None:
        return current
    _refuse_stale(current, clinic)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the prescription is stopped."})
    current.stopped_at, current.stopped_by, current.stop_reason = now, prescriber, reason.strip()
    current.save(update_fields=["stopped_at", "stopped_by", "stop_reason"])
    _move_open_slots(old=current, new=None, now=now, by=prescriber, reason=f"Prescription stopped: {reason.strip()}")
    return current
