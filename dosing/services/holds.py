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

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import wraps

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, When
from django.utils import timezone

from clinics.access import require_capability_at
from clinics.roles import Capability
from hat_clinic.precompiled import STAND_IN_DAY, STAND_IN_ID, STAND_IN_MOMENT, STAND_IN_OTHER_DAY, Precompiled
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
from .absences import absences_overlapping, days_of
from .alerts import _alert, _prescribers_to_alert
from .authorisations import notify_pin_used, prescriber_act
from .prescriptions import prescription_change


def _missed_day_threshold(settings: DosingSettings, prescription: Prescription | None) -> int:
    if prescription is not None and prescription.is_titration:
        return settings.missed_days_threshold_titration
    return settings.missed_days_threshold


NOT_READ = object()  # hold_due's `last_cleared` or `absences` when the caller has not read them

# S7 looks back this many days (the largest threshold is 14): every dose-time read is bounded by it.
S7_LOOK_BACK_DAYS = 21


@dataclass(frozen=True)
class HoldDue:
    """S7 decided from the facts: the patient must not be dosed until a prescriber reviews them."""

    missed_since: date
    days: int
    sentence: str


def _days_slots(*, patient_id, up_to, since, last_cleared=None):
    """The patient's slots of the look-back, newest first, that S7 counts (see `_days_without_dose`)."""
    slots = (
        Slot.objects.filter(patient_id=patient_id, date__lte=up_to, date__gte=since)
        .exclude(status=SlotStatus.CANCELLED)
        # S13: the open episode only (a re-admission starts afresh with a new prescription)
        .filter(patient__episodes__ended_on__isnull=True, patient__episodes__started_on__lte=F("date"))
    )
    if last_cleared is not None:
        slots = slots.filter(window_start__gte=last_cleared)
    return slots.order_by("-date").values_list("date", "status", "window_end", "top_up")


# Read before every dose: precompiled, with and without a last review.
_DAYS_SLOTS = Precompiled(_days_slots, patient_id=STAND_IN_ID, up_to=STAND_IN_DAY, since=STAND_IN_OTHER_DAY)
_DAYS_SLOTS_SINCE_REVIEW = Precompiled(
    _days_slots, patient_id=STAND_IN_ID, up_to=STAND_IN_DAY, since=STAND_IN_OTHER_DAY, last_cleared=STAND_IN_MOMENT
)


def s7_look_back(up_to: date) -> tuple[date, date]:
    """The days S7 reads for a decision about the days up to `up_to`: the slots and absences of [first, last]."""
    return up_to - timedelta(days=S7_LOOK_BACK_DAYS), up_to


def _days_without_dose(
    *, patient: Patient, up_to: date, now: datetime, last_cleared: datetime | None, away: set[date], top_up: bool
) -> list[date]:
    """S7: the current run of complete clinic-local days without a dose, up to `up_to`, newest first: of the
    injectable, or of the oral top-up (`top_up`; rules.consecutive_days_without_dose says why each its own).

    Only slots of the open episode, and only those whose window started after the last review
    (`last_cleared`) count. A slot still open whose window has ended counts as missed whether or not
    the missed-slot job has closed it. One query on slot_patient_recent.
    """
    since, up_to = s7_look_back(up_to)
    if last_cleared is None:
        rows = _DAYS_SLOTS.all(patient_id=patient.pk, up_to=up_to, since=since)
    else:
        rows = _DAYS_SLOTS_SINCE_REVIEW.all(patient_id=patient.pk, up_to=up_to, since=since, last_cleared=last_cleared)
    by_day: dict[date, list[str]] = {}
    for day, status, window_end, is_top_up in rows:
        if status in OPEN_SLOT_STATUSES and window_end <= now:
            status = SlotStatus.MISSED  # the job has not closed it yet; safety does not wait for it
        by_day.setdefault(day, []).append((status, is_top_up))
    return rules.consecutive_days_without_dose(list(by_day.items()), away=away, top_up=top_up)


def hold_due(
    *,
    patient: Patient,
    prescription: Prescription | None,
    settings: DosingSettings,
    up_to: date,
    now: datetime,
    top_up: bool = False,
    last_cleared=NOT_READ,
    absences=NOT_READ,
) -> HoldDue | None:
    """S7 from the facts at `now`, for days up to `up_to`: a run of missed days, or a return from a long absence.

    `top_up`: for a dose of the oral top-up beside the injectable (its slot's `top_up`): the run of days
    without the top-up, refusing the top-up only (the caller records no hold for it: the injectable's
    own run decides that). Its review is the prescriber writing the top-up again: the run counts from
    the live top-up prescription's signature.

    Three bounded queries (the last review, the absences and the slots of the look-back), whatever
    the patient's history; two when the caller read `last_cleared` (when the patient's last hold was
    cleared, None if never) with the open hold (`_open_hold_or_last_review`); one less when the caller
    read `absences`, those overlapping `s7_look_back(up_to)` (none, in the dose's facts, most days).
    """
    if last_cleared is NOT_READ:
        last_cleared = (
            Hold.objects.filter(patient=patient, cleared_at__isnull=False)
            .order_by("-cleared_at")
            .values_list("cleared_at", flat=True)
            .first()
        )
    if absences is NOT_READ:
        first, last = s7_look_back(up_to)
        absences = absences_overlapping(patient_id=patient.pk, first=first, last=last)
    reviewed = last_cleared
    if top_up and prescription is not None and prescription.signed_at:
        reviewed = max(reviewed, prescription.signed_at) if reviewed else prescription.signed_at
    run = _days_without_dose(
        patient=patient, up_to=up_to, now=now, last_cleared=reviewed, away=days_of(absences), top_up=top_up
    )
    if len(run) >= _missed_day_threshold(settings, prescription):
        if top_up:
            sentence = rules.top_up_missed_sentence(drug=prescription.drug, missed_days=len(run), missed_since=run[-1])
        else:
            sentence = rules.hold_sentence(missed_days=len(run), missed_since=run[-1])
        return HoldDue(missed_since=run[-1], days=len(run), sentence=sentence)
    zone = settings.clinic.zone
    for absence in sorted(absences, key=lambda a: a.ends_on, reverse=True):
        if absence.ends_on > up_to:
            continue  # still away
        left = datetime.combine(absence.starts_on, time(0, 0), tzinfo=zone)
        if absence.days >= settings.absence_review_days and (last_cleared is None or last_cleared < left):
            sentence = rules.absence_sentence(
                days=absence.days,
                reason=absence.get_reason_display().lower(),
                starts_on=absence.starts_on,
                ends_on=absence.ends_on,
            )
            return HoldDue(missed_since=absence.starts_on, days=absence.days, sentence=sentence)
        break  # only the latest return matters
    return None


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
    due = hold_due(
        patient=patient,
        prescription=prescription,
        settings=settings,
        up_to=timezone.localdate(now, clinic.zone),
        now=now,
    )
    if due is None:
        return None
    sentence = due.sentence
    hold = Hold.objects.create(
        patient=patient,
        prescription=prescription,
        since=now,
        missed_since=due.missed_since,
        missed_days=due.days,
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


def _live_prescription_to_restart(patient: Patient) -> Prescription | None:
    """The held prescription was stopped (or ended with a discharge) and a new one written: restart on that one,
    the injectable first, so a hold never outlives the prescription it was about."""
    return (
        Prescription.objects.live()
        .filter(patient=patient)
        .order_by(Case(When(drug__in=INJECTABLE_DRUGS, then=0), default=1), "signed_at")
        .first()
    )


def hold_on_s7_refusal(service):
    """Decorate a dose-time service: after an S7 refusal decided from the facts (its transaction rolled
    back), record the hold in its own transaction, so the prescriber is alerted and can review it
    at once whether or not the scheduled job ever runs. Idempotent (one open hold per patient).
    """

    @wraps(service)
    def wrapper(*, slot, now: datetime | None = None, **kwargs):
        now = _now(now)
        try:
            return service(slot=slot, now=now, **kwargs)
        except rules.RuleViolation as refusal:
            if refusal.rule == "S7":
                hold_after_missed_days(patient=slot.patient, now=now)
            raise

    return wrapper


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
    # The transaction starts after the PIN: a refusal rolls it back, and a wrong PIN's count must stay.
    with transaction.atomic():
        patient = _lock_patient(hold.patient)
        hold = Hold.objects.select_for_update().get(pk=hold.pk)
        require_capability_at(prescriber, Capability.PRESCRIBE, clinic=patient.clinic, doing="clear holds")
        if hold.cleared_at is not None:
            return hold
        current = live_prescription(patient, hold.prescription.drug) or _live_prescription_to_restart(patient)
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
