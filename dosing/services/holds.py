"""Missed doses and holds (S7, S11).

S11: the scheduled job closes every slot whose window ended unused as missed. S7: a patient
whose run of days without a dose reaches the clinic's threshold is put on hold and the
prescriber alerted; the prescriber's review clears the hold with a restart dose (a new
prescription version). The hold is also applied when a nurse closes a slot without a dose,
and checked again before every dose (checks.py).

`close_missed_slots` lives here rather than with the other slot job because closing missed
slots is what starts a hold; and this module needs prescriptions.py (the restart dose), which
needs slots.py, so slots.py cannot need this one.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, DateTimeField, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from clinics.access import require_capability_at
from clinics.roles import Capability
from patients.models import Patient

from .. import rules
from ..models import (
    INJECTABLE_DRUGS,
    OPEN_SLOT_STATUSES,
    AlertKind,
    AuthorisedWith,
    DosingSettings,
    Hold,
    Prescription,
    Slot,
    SlotStatus,
)
from ._common import _lock_patient, _now, _open_hold, live_prescription
from .alerts import _alert, _prescribers_to_alert
from .authorisations import notify_pin_used, prescriber_act
from .prescriptions import prescription_change


def _missed_day_threshold(settings: DosingSettings, prescription: Prescription | None) -> int:
    if prescription is not None and prescription.is_titration:
        return settings.missed_days_threshold_titration
    return settings.missed_days_threshold


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _days_without_dose(*, patient: Patient, up_to: date) -> list[date]:
    """S7: the current run of complete clinic-local days without a dose, up to `up_to`, newest first.

    Only slots whose window started after the last hold was cleared count: a review resets the run.
    """
    last_cleared = (
        Hold.objects.filter(patient=patient, cleared_at__isnull=False).order_by("-cleared_at").values("cleared_at")[:1]
    )
    slots = (
        Slot.objects.filter(patient=patient, date__lte=up_to, date__gte=up_to - timedelta(days=21))
        .exclude(status=SlotStatus.CANCELLED)
        # one query (it runs on every dose): the run restarts at the last review, if any
        .filter(window_start__gte=Coalesce(Subquery(last_cleared), Value(_EPOCH, output_field=DateTimeField())))
    )
    by_day: dict[date, list[str]] = {}
    for day, status in slots.order_by("-date").values_list("date", "status"):
        by_day.setdefault(day, []).append(status)
    return rules.consecutive_days_without_dose(list(by_day.items()))


def _apply_missed_day_hold(*, patient: Patient, now: datetime) -> Hold | None:
    """S7: put the patient on hold once the run of days without a dose reaches the threshold.

    Called with the patient locked (a slot transition or the missed-slot job). Returns the new
    hold, or None when there is nothing to do (already on hold, or below the threshold).
    """
    if _open_hold(patient) is not None:
        return None
    prescription = (
        Prescription.objects.live()
        .filter(patient=patient)
        .order_by(
            # the injectable is the one held; an oral-only patient's oral prescription otherwise
            Case(When(drug__in=INJECTABLE_DRUGS, then=0), default=1),
            "signed_at",
        )
        .select_related("prescriber", "patient__clinic")
        .first()
    )
    if prescription is None:
        return None
    clinic = prescription.patient.clinic
    settings = DosingSettings.for_clinic(clinic)
    run = _days_without_dose(patient=patient, up_to=timezone.localdate(now, clinic.zone))
    if len(run) < _missed_day_threshold(settings, prescription):
        return None
    sentence = rules.hold_sentence(missed_days=len(run), missed_since=run[-1])
    hold = Hold.objects.create(
        patient=patient,
        prescription=prescription,
        since=now,
        missed_since=run[-1],
        missed_days=len(run),
        reason=f"S7 · {sentence}",
    )
    _alert(
        clinic=clinic,
        recipients=_prescribers_to_alert(prescription, clinic),
        kind=AlertKind.HOLD,
        message=f"S7 · {prescription.patient.display_name} is on hold: {sentence}.",
        now=now,
        hold=hold,
    )
    return hold


def hold_after_missed_days(*, patient: Patient, now: datetime | None = None) -> Hold | None:
    """S7 for one patient, in its own transaction (the missed-slot job calls it per patient)."""
    now = _now(now)
    with transaction.atomic():
        patient = _lock_patient(patient)
        return _apply_missed_day_hold(patient=patient, now=now)


@transaction.atomic
def clear_hold(
    *,
    hold: Hold,
    prescriber=None,
    morning_dose_mg: Decimal | None,
    afternoon_dose_mg: Decimal | None,
    evening_dose_mg: Decimal | None = None,
    notes: str = "",
    recorded_by=None,
    prescriber_pin: str = "",
    now: datetime | None = None,
) -> Hold:
    """S7: the prescriber's review. Sets the restart dose as a new prescription version and clears the hold.

    The prescriber's own act: `prescriber` signed in (`recorded_by` empty or themselves), or a
    nurse (`recorded_by`) naming the prescriber, who types their PIN (`prescriber_pin`) on the
    nurse's device; the prescriber is then alerted. Idempotent: a hold already cleared is
    returned unchanged.
    """
    now = _now(now)
    clinic = hold.patient.clinic
    cleared_with, typed_by = AuthorisedWith.SESSION, None
    if recorded_by is not None and (prescriber is None or prescriber.pk != recorded_by.pk):
        # Before any lock: the PIN hash is deliberately slow.
        require_capability_at(recorded_by, Capability.RECORD_DOSES, clinic=clinic, doing="record doses")
        prescriber, cleared_with = prescriber_act(
            clinic=clinic,
            acting=recorded_by,
            named=prescriber,
            pin=prescriber_pin,
            rule="S7",
            what="Clearing the hold",
            who_field="prescriber",
            pin_field="prescriber_pin",
        )
        typed_by = recorded_by if cleared_with == AuthorisedWith.PIN else None
    patient = _lock_patient(hold.patient)
    hold = Hold.objects.select_for_update().get(pk=hold.pk)
    require_capability_at(prescriber, Capability.PRESCRIBE, clinic=patient.clinic, doing="clear holds")
    if hold.cleared_at is not None:
        return hold
    current = live_prescription(patient, hold.prescription.drug)
    if current is None:
        raise ValidationError("The held prescription has been stopped; write a new prescription instead.")
    restart = prescription_change(
        prescription=current,
        prescriber=prescriber,
        now=now,
        morning_dose_mg=morning_dose_mg,
        afternoon_dose_mg=afternoon_dose_mg,
        evening_dose_mg=evening_dose_mg,
        notes=f"Restart after missed-dose hold. {notes}".strip(),
    )
    hold.cleared_at, hold.cleared_by, hold.clear_notes, hold.restart_prescription = now, prescriber, notes, restart
    hold.cleared_with, hold.cleared_recorded_by = cleared_with, typed_by
    hold.save(
        update_fields=[
            *("cleared_at", "cleared_by", "clear_notes", "restart_prescription"),
            *("cleared_with", "cleared_recorded_by"),
        ]
    )
    if typed_by is not None:
        notify_pin_used(
            clinic=patient.clinic,
            prescriber=prescriber,
            recorded_by=typed_by,
            what=f"The missed-dose hold of {patient.display_name} was cleared with a restart dose",
            now=now,
            hold=hold,
        )
    return hold


def close_missed_slots(*, now: datetime | None = None) -> int:
    """S11: close every open slot whose window has ended as missed, then apply S7 holds.

    Slots a nurse is working on right now (locked) are skipped and looked at on the next run.
    Safe to run any number of times. Returns the number of slots closed.
    """
    now = _now(now)
    with transaction.atomic():
        due = list(
            Slot.objects.select_for_update(skip_locked=True)
            .filter(status__in=OPEN_SLOT_STATUSES, window_end__lte=now)
            .values_list("pk", "patient_id")
        )
        Slot.objects.filter(pk__in=[pk for pk, _ in due], status__in=OPEN_SLOT_STATUSES).update(
            status=SlotStatus.MISSED,
            status_changed_at=now,
            status_changed_by=None,
            status_reason="Not used by the end of the session window",
        )
    for patient in Patient.objects.filter(pk__in={patient_id for _, patient_id in due}):
        hold_after_missed_days(patient=patient, now=now)
    return len(due)
