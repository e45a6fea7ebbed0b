"""Every write of the dosing app, as keyword-only functions.

Conventions:
- `now=` is a parameter (default `timezone.now()`); the clinic-local date comes from the
  clinic's own time zone.
- Each transition runs in one transaction and first locks the slot and its patient
  (`SELECT ... FOR NO KEY UPDATE`), so two nurses on the same patient are serialised; the
  safety rules are then checked against what is committed (dosing/rules.py, the only
  place where a rule is decided). A refusal is a `rules.RuleViolation` (a ValidationError
  naming the rule, the facts and the field), nothing is half-saved.
- The acting user must hold the capability for the patient's clinic, else PermissionDenied
  (views also scope objects to the user's clinics and answer 404 for another clinic's).
- Transitions are idempotent where a repeat is harmless (arrival, refusal, withholding,
  sign-out, stop, clearing a hold: the second call returns what is there); a repeated dose
  is refused (S1) because a second dose is never harmless.
- Side effects (email) are queued with `delay_on_commit`, after the transaction commits.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, DateTimeField, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from cd_register.models import CdDrug
from cd_register.services import correct_draw_for_administration, draw_for_administration
from clinics.access import has_capability, may_act, require_capability_at
from clinics.models import Clinic, User
from clinics.roles import Capability
from clinics.services import witness_secret_is_correct
from patients.models import Patient
from patients.selectors import has_treatment_consent

from . import rules, tasks
from .models import (
    DOSED_SLOT_STATUSES,
    INJECTABLE_DRUGS,
    OPEN_SLOT_STATUSES,
    Administration,
    AdverseEvent,
    AdverseEventKind,
    Alert,
    AlertKind,
    CheckOutcome,
    DosingSettings,
    Drug,
    Hold,
    ObservationSignOut,
    PreDoseCheck,
    Prescription,
    Route,
    Session,
    SignOutState,
    Slot,
    SlotStatus,
    Supply,
)

# --- Helpers ---------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _lock_slot(slot: Slot) -> Slot:
    """Lock the patient, then the slot: every transition of one patient is serialised (S1-S4).

    Always the patient row first (as prescription changes and the hold job do), so two
    writers never wait on each other in opposite orders. NO KEY UPDATE, not UPDATE: other
    transactions may still insert rows that refer to the patient (access log, consents).
    """
    Patient.objects.select_for_update(no_key=True).filter(pk=slot.patient_id).values_list("pk").get()
    return (
        Slot.objects.select_for_update(no_key=True, of=("self",))
        .select_related("patient", "clinic__dosing_settings", "prescription")
        .get(pk=slot.pk)
    )


def _lock_patient(patient: Patient) -> Patient:
    return Patient.objects.select_for_update(no_key=True).select_related("clinic").get(pk=patient.pk)


def _set_status(slot: Slot, status: str, *, by, now: datetime, reason: str = "") -> None:
    slot.status = status
    slot.status_changed_at = now
    slot.status_changed_by = by
    slot.status_reason = reason
    slot.save(update_fields=["status", "status_changed_at", "status_changed_by", "status_reason"])


def live_prescription(patient: Patient, drug: str) -> Prescription | None:
    return Prescription.objects.live().filter(patient=patient, drug=drug).first()


def _open_hold(patient: Patient) -> Hold | None:
    return Hold.objects.filter(patient=patient, cleared_at__isnull=True).first()


@dataclass
class _RecentDoses:
    """The patient's administrations a dose decision needs, read in one query (it runs on every dose)."""

    existing: Administration | None  # this slot's original entry (S1), corrected or not
    today: list[Administration]  # entries in force on the slot's day (S2, S4)
    last_injectable_at: datetime | None  # in force, injectable, within the minimum interval (S3)


def _recent_doses(*, slot: Slot, now: datetime, settings: DosingSettings) -> _RecentDoses:
    """Entries of the slot's day, and any given within the minimum interval before `now`.

    A dose older than the interval cannot refuse a dose under S3, so the window changes no decision.
    """
    corrections = Administration.objects.filter(corrects=OuterRef("pk"))
    rows = list(
        Administration.objects.filter(patient_id=slot.patient_id)
        .filter(Q(slot__date=slot.date) | Q(given_at__gt=now - settings.minimum_interval))
        .annotate(slot_date=F("slot__date"), in_force=~Exists(corrections))
        .only("slot_id", "drug", "dose_mg", "given_at", "nurse_id", "corrects_id")
    )
    in_force = [row for row in rows if row.in_force]
    injectable = [row.given_at for row in in_force if row.drug in INJECTABLE_DRUGS and row.dose_mg > 0]
    return _RecentDoses(
        existing=next((row for row in rows if row.slot_id == slot.pk and row.corrects_id is None), None),
        today=[row for row in in_force if row.slot_date == slot.date],
        last_injectable_at=max((at for at in injectable if at > now - settings.minimum_interval), default=None),
    )


def _may_witness(witness, clinic: Clinic) -> bool:
    """S9: an active member of staff of this clinic whose role records doses. One query: it runs on every dose."""
    if witness is None or not witness.is_active:
        return False
    app_label, codename = Capability.RECORD_DOSES.perm.split(".")
    return User.objects.filter(
        pk=witness.pk,
        is_active=True,
        clinics=clinic,
        clinics__is_active=True,
        groups__permissions__codename=codename,
        groups__permissions__content_type__app_label=app_label,
    ).exists()


def _verify_witness(*, clinic: Clinic, nurse, witness, witness_password: str) -> None:
    """S9, checked before any lock is taken: the witness's own PIN (or password) with lockout on guessing."""
    may_witness = _may_witness(witness, clinic)
    password_correct = witness is not None and witness_secret_is_correct(witness=witness, secret=witness_password)
    rules.check_witness(
        nurse=nurse, witness=witness, witness_may_witness=may_witness, password_correct=password_correct
    )


def _prescribers_to_alert(prescription: Prescription, clinic: Clinic) -> list:
    """The prescriber who signed the prescription, or every prescriber of the clinic if they cannot act."""
    if may_act(prescription.prescriber, Capability.PRESCRIBE, clinic=clinic):
        return [prescription.prescriber]
    return [
        user
        for user in clinic.staff.filter(is_active=True).prefetch_related("groups")
        if has_capability(user, Capability.PRESCRIBE)
    ]


def _alert(*, clinic: Clinic, recipients, kind: str, message: str, now: datetime, **links) -> list[Alert]:
    alerts = [
        Alert.objects.create(clinic=clinic, recipient=user, kind=kind, message=message, created_at=now, **links)
        for user in recipients
    ]
    for alert in alerts:
        tasks.send_alert_email.delay_on_commit(alert.pk)
    return alerts


# --- Prescriptions ---------------------------------------------------------------------------------

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
    if not patient.episodes.filter(ended_on__isnull=True).exists():
        raise ValidationError("No prescription: the patient has no open treatment episode.")
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


# --- Session slots: arrival, check, refusal, withholding -------------------------------------------------


@transaction.atomic
def slot_mark_arrived(*, slot: Slot, nurse, now: datetime | None = None) -> Slot:
    """The patient is here. Idempotent: a slot already past arrival is returned unchanged."""
    now = _now(now)
    slot = _lock_slot(slot)
    require_capability_at(nurse, Capability.RECORD_DOSES, clinic=slot.clinic, doing="record doses")
    if slot.status != SlotStatus.SCHEDULED:
        if slot.status in (SlotStatus.MISSED, SlotStatus.CANCELLED):
            rules.check_slot_open_for_update(slot=slot, zone=slot.clinic.zone)
        return slot
    if now >= slot.window_end:
        rules.check_slot_window(slot=slot, now=now, zone=slot.clinic.zone)
    slot.arrived_at = now
    slot.save(update_fields=["arrived_at"])
    _set_status(slot, SlotStatus.ARRIVED, by=nurse, now=now)
    return slot


@dataclass
class _DoseContext:
    """The facts the rules need about one slot, gathered under lock."""

    settings: DosingSettings
    prescription: Prescription | None
    session_dose_mg: Decimal | None


def _check_may_be_dosed_today(slot: Slot, *, now: datetime, route: str | None = None) -> _DoseContext:
    """S7, S8 and consent: shared by the pre-dose check (no route yet) and the dose itself."""
    clinic, patient = slot.clinic, slot.patient
    settings = DosingSettings.for_clinic(clinic)
    prescription = live_prescription(patient, slot.prescription.drug)
    rules.check_treatment_consent(has_consent=has_treatment_consent(patient, at=now))
    rules.check_prescription_for_dose(
        prescription=prescription,
        drug=slot.prescription.drug,
        day=slot.date,
        session=slot.session,
        route=route or (prescription.route if prescription else slot.prescription.route),
    )
    hold = _open_hold(patient)
    if hold is None:
        # Backstop for S7: the scheduled job normally holds first, but never dose on its timing alone.
        run = _days_without_dose(patient=patient, up_to=slot.date - timedelta(days=1))
        if len(run) >= _missed_day_threshold(settings, prescription):
            rules.check_not_on_hold(hold=Hold(missed_days=len(run), missed_since=run[-1]))
    rules.check_not_on_hold(hold=hold)
    return _DoseContext(
        settings=settings, prescription=prescription, session_dose_mg=prescription.dose_for(slot.session)
    )


@transaction.atomic
def record_pre_dose_check(
    *,
    slot: Slot,
    checked_by,
    sedation: str,
    intoxication_signs: bool,
    withdrawal_signs: bool,
    breath_alcohol_ug: Decimal,
    outcome: str,
    withhold_reason: str = "",
    reduced_dose_mg: Decimal | None = None,
    authorised_by=None,
    notes: str = "",
    now: datetime | None = None,
) -> PreDoseCheck:
    """S5: record the check; withholding closes the slot, proceed or reduced makes it 'checked'.

    An intoxicated patient (sedation frequent/somnolent, signs of intoxication, or breath
    alcohol above the clinic's limit) can only be withheld; a reduced dose names the prescriber
    who authorised it. A later check in the same session replaces an earlier one.
    """
    now = _now(now)
    breath_alcohol_ug = _decimal(breath_alcohol_ug, "breath_alcohol_ug")
    reduced_dose_mg = _decimal(reduced_dose_mg, "reduced_dose_mg")
    slot = _lock_slot(slot)
    zone = slot.clinic.zone
    require_capability_at(checked_by, Capability.RECORD_DOSES, clinic=slot.clinic, doing="record doses")
    rules.check_slot_open_for_update(slot=slot, zone=zone)
    rules.check_slot_window(slot=slot, now=now, zone=zone)
    if outcome not in CheckOutcome.values:
        raise ValidationError({"outcome": "Choose proceed, withhold or reduced dose."})
    context = _check_may_be_dosed_today(slot, now=now)
    rules.check_pre_dose_findings(
        outcome=outcome,
        sedation=sedation,
        intoxication_signs=intoxication_signs,
        breath_alcohol_ug=breath_alcohol_ug,
        withhold_reason=withhold_reason,
        reduced_dose_mg=reduced_dose_mg,
        authoriser_may_prescribe=authorised_by is not None
        and may_act(authorised_by, Capability.PRESCRIBE, clinic=slot.clinic),
        session_dose_mg=context.session_dose_mg,
        settings=context.settings,
    )
    check = PreDoseCheck(
        slot=slot,
        sedation=sedation,
        intoxication_signs=intoxication_signs,
        withdrawal_signs=withdrawal_signs,
        breath_alcohol_ug=breath_alcohol_ug,
        notes=notes,
        outcome=outcome,
        withhold_reason=withhold_reason.strip() if outcome == CheckOutcome.WITHHOLD else "",
        reduced_dose_mg=reduced_dose_mg if outcome == CheckOutcome.REDUCED else None,
        authorised_by=authorised_by if outcome == CheckOutcome.REDUCED else None,
        checked_by=checked_by,
        checked_at=now,
    )
    check.full_clean(exclude=["slot", "checked_by", "authorised_by"])
    check.save()
    if outcome == CheckOutcome.WITHHOLD:
        _set_status(slot, SlotStatus.WITHHELD, by=checked_by, now=now, reason=check.withhold_reason)
        _apply_missed_day_hold(patient=slot.patient, now=now)
    else:
        if slot.arrived_at is None:
            slot.arrived_at = now
            slot.save(update_fields=["arrived_at"])
        _set_status(slot, SlotStatus.CHECKED, by=checked_by, now=now)
    return check


def _close_slot_by_nurse(*, slot: Slot, nurse, reason: str, status: str, now: datetime | None) -> Slot:
    now = _now(now)
    slot = _lock_slot(slot)
    require_capability_at(nurse, Capability.RECORD_DOSES, clinic=slot.clinic, doing="record doses")
    if slot.status == status:
        return slot  # a repeated submission: already recorded
    rules.check_slot_open_for_update(slot=slot, zone=slot.clinic.zone)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Give the reason."})
    _set_status(slot, status, by=nurse, now=now, reason=reason.strip())
    _apply_missed_day_hold(patient=slot.patient, now=now)
    return slot


@transaction.atomic
def record_refusal(*, slot: Slot, nurse, reason: str, now: datetime | None = None) -> Slot:
    """The patient declined this session's dose. Closes the slot; idempotent."""
    return _close_slot_by_nurse(slot=slot, nurse=nurse, reason=reason, status=SlotStatus.REFUSED, now=now)


@transaction.atomic
def withhold_dose(*, slot: Slot, nurse, reason: str, now: datetime | None = None) -> Slot:
    """The nurse withholds this session's dose (without a check, e.g. the patient is on hold). Idempotent."""
    return _close_slot_by_nurse(slot=slot, nurse=nurse, reason=reason, status=SlotStatus.WITHHELD, now=now)


# --- The dose ----------------------------------------------------------------------------------------------------


def administer_dose(
    *,
    slot: Slot,
    dose_mg: Decimal,
    route: str,
    injection_site: str,
    nurse,
    witness,
    witness_password: str,
    ampoules: list | None = None,
    now: datetime | None = None,
) -> Administration:
    """Record a witnessed dose (S1-S9, S11) and start the observation (S6).

    The controlled-drug register entries for the dose (ampoules drawn and the waste of the
    part-used one) are written in the same transaction: `ampoules` is the nurse's choice as
    (register, count) pairs, else the register's least-waste proposal. No stock, no dose.

    The witness's password is verified first, outside the transaction (hashing is slow and
    must not hold the lock). Then, under the slot+patient lock: S1 (one per slot: lock plus the
    partial unique constraint, so a concurrent loser is told who gave it and when), S11
    (inside the window), S8 (consent, active signed prescription, route), S7 (hold), S5 (a
    check allowing it), S2 (sessions a day), S3 (interval since the last injectable dose), S4
    (session dose, daily maximum). The slot becomes 'given', or 'partial' below the
    authorised dose.
    """
    now = _now(now)
    require_capability_at(nurse, Capability.RECORD_DOSES, clinic=slot.clinic, doing="record doses")
    dose_mg = _decimal(dose_mg, "dose_mg")
    rules.check_dose_amount(dose_mg=dose_mg)
    _verify_witness(clinic=slot.clinic, nurse=nurse, witness=witness, witness_password=witness_password)
    try:
        with transaction.atomic():
            return _administer_locked(
                slot=slot,
                dose_mg=dose_mg,
                route=route,
                injection_site=injection_site,
                nurse=nurse,
                witness=witness,
                ampoules=ampoules,
                now=now,
            )
    except IntegrityError as error:
        # The lock makes this unreachable for callers of this function; the constraint is the
        # last line of defence (S1) against any other writer. Report it, never as a 500.
        existing = Administration.objects.filter(slot=slot, corrects__isnull=True).select_related("nurse").first()
        if existing is None:
            raise
        rules.check_slot_can_be_dosed(slot=slot, existing=existing, now=now, zone=slot.clinic.zone)
        raise error from None


def _decimal(value, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite():
        raise ValidationError({field: "Enter a number."})
    return number


def _administer_locked(*, slot, dose_mg, route, injection_site, nurse, witness, ampoules, now) -> Administration:
    slot = _lock_slot(slot)
    patient, zone = slot.patient, slot.clinic.zone
    recent = _recent_doses(slot=slot, now=now, settings=DosingSettings.for_clinic(slot.clinic))
    rules.check_slot_can_be_dosed(slot=slot, existing=recent.existing, now=now, zone=zone)
    if route not in Route.values:
        raise ValidationError({"route": "Choose the route."})
    context = _check_may_be_dosed_today(slot, now=now, route=route)
    prescription, settings = context.prescription, context.settings
    if prescription.is_injectable and not injection_site:
        raise ValidationError({"injection_site": "Record the injection site."})
    _refuse_ampoules_outside_the_register(prescription.drug, ampoules)
    check = slot.checks.select_related("authorised_by").order_by("-checked_at", "-pk").first()
    rules.check_dose_after_pre_dose_check(check=check, dose_mg=dose_mg, zone=zone)
    today = recent.today
    rules.check_sessions_per_day(
        slot=slot, settings=settings, doses_today=sum(1 for entry in today if entry.dose_mg > 0)
    )
    rules.check_minimum_interval(
        drug=prescription.drug, last_injectable_at=recent.last_injectable_at, now=now, settings=settings, zone=zone
    )
    rules.check_dose_within_prescription(
        dose_mg=dose_mg,
        session=slot.session,
        session_dose_mg=context.session_dose_mg,
        daily_max_mg=rules.daily_maximum(prescription=prescription, settings=settings),
        given_today_mg=sum((entry.dose_mg for entry in today if entry.drug == prescription.drug), Decimal(0)),
    )
    authorised_mg = check.reduced_dose_mg if check.outcome == CheckOutcome.REDUCED else context.session_dose_mg
    administration = Administration(
        slot=slot,
        patient=patient,
        prescription=prescription,
        drug=prescription.drug,
        dose_mg=dose_mg,
        prescribed_dose_mg=authorised_mg,
        route=route,
        injection_site=injection_site if prescription.is_injectable else "",
        given_at=now,
        nurse=nurse,
        witness=witness,
        observation_ends_at=now + settings.observation,
        recorded_at=now,
    )
    administration.full_clean(
        exclude=["slot", "patient", "prescription", "nurse", "witness", "corrects"], validate_constraints=False
    )
    administration.save()
    if prescription.drug in CdDrug.values:
        # Schedule 2 (SPEC 5): the register is written by the dose itself, never typed twice;
        # a refusal here (not enough stock) rolls the dose back with it.
        draw_for_administration(
            clinic=slot.clinic,
            drug=prescription.drug,
            dose_mg=dose_mg,
            patient=patient,
            administration_ref=administration.pk,
            made_by=nurse,
            witness=witness,
            ampoules=ampoules,
            now=now,
        )
    status = SlotStatus.GIVEN if dose_mg >= authorised_mg else SlotStatus.PARTIAL
    _set_status(slot, status, by=nurse, now=now)
    return administration


def _refuse_ampoules_outside_the_register(drug: str, ampoules) -> None:
    """Ampoules chosen for a drug no register holds (oral methadone or morphine) are a mistake, not a no-op."""
    if ampoules is not None and drug not in CdDrug.values:
        raise ValidationError(
            {"ampoules": f"Ampoules: {Drug(drug).label.lower()} is not in a controlled-drug register here."}
        )


def _root(administration: Administration) -> Administration:
    while administration.corrects_id is not None:
        administration = administration.corrects
    return administration


@transaction.atomic
def sign_out_after_observation(
    *, administration: Administration, signed_out_by, state: str, notes: str = "", now: datetime | None = None
) -> ObservationSignOut:
    """S6: end the observation, not before its end time. Idempotent: a second sign-out returns the first."""
    now = _now(now)
    slot = _lock_slot(administration.slot)
    require_capability_at(signed_out_by, Capability.RECORD_DOSES, clinic=slot.clinic, doing="record doses")
    original = _root(Administration.objects.get(pk=administration.pk))
    existing = ObservationSignOut.objects.filter(administration=original).first()
    if existing is not None:
        return existing
    if state not in SignOutState.values:
        raise ValidationError({"state": "Choose how the patient is at sign-out."})
    rules.check_observation_over(administration=original, now=now, zone=slot.clinic.zone)
    return ObservationSignOut.objects.create(
        administration=original, state=state, notes=notes, signed_out_by=signed_out_by, signed_out_at=now
    )


def correct_administration(
    *,
    administration: Administration,
    author,
    reason: str,
    dose_mg: Decimal,
    route: str,
    injection_site: str,
    given_at: datetime,
    witness,
    witness_password: str,
    ampoules: list | None = None,
    now: datetime | None = None,
) -> Administration:
    """S10: a new, dated, witnessed entry that replaces `administration` (which stays as it was).

    Correct the entry in force: an entry already corrected is refused (stale form). The
    corrected values record what really happened, so S4 is not applied to them (refusing would
    hide an error); a dose of 0 means no dose was given, and the slot becomes 'cancelled'.

    The controlled-drug register follows in the same transaction (SPEC 5): without `ampoules`
    the ampoules recorded were right and only the waste changes; with them (a list of
    (register, count), empty when nothing was drawn) the register is corrected to that draw.
    A register refusal (not enough stock for a larger draw) saves no correction either.
    """
    now = _now(now)
    clinic = administration.slot.clinic
    require_capability_at(author, Capability.RECORD_DOSES, clinic=clinic, doing="record doses")
    dose_mg = _decimal(dose_mg, "dose_mg")
    _verify_witness(clinic=clinic, nurse=author, witness=witness, witness_password=witness_password)
    with transaction.atomic():
        slot = _lock_slot(administration.slot)
        original = Administration.objects.select_related("prescription").get(pk=administration.pk)
        rules.check_correction(
            already_corrected=Administration.objects.filter(corrects=original).exists(), reason=reason, dose_mg=dose_mg
        )
        if given_at is None or given_at > now:
            raise ValidationError({"given_at": "Give the time the dose was really given (not in the future)."})
        _refuse_ampoules_outside_the_register(original.drug, ampoules)
        settings = DosingSettings.for_clinic(clinic)
        correction = Administration(
            slot=slot,
            patient=original.patient,
            prescription=original.prescription,
            drug=original.drug,
            dose_mg=dose_mg,
            prescribed_dose_mg=original.prescribed_dose_mg,
            route=route,
            injection_site=injection_site or "",
            given_at=given_at,
            nurse=author,
            witness=witness,
            observation_ends_at=given_at + settings.observation,
            corrects=original,
            correction_reason=reason.strip(),
            recorded_at=now,
        )
        correction.full_clean(
            exclude=["slot", "patient", "prescription", "nurse", "witness", "corrects"], validate_constraints=False
        )
        # The slot's records are the dose's history: its register lines reference any of them.
        dose_records = list(slot.administrations.values_list("pk", flat=True))
        correction.save()
        if original.drug in CdDrug.values:
            # SPEC 5, S10: the register says what really left the cupboard; the witness was verified above.
            correct_draw_for_administration(
                clinic=clinic,
                drug=original.drug,
                dose_mg=dose_mg,
                patient=original.patient,
                corrected_refs=dose_records,
                administration_ref=correction.pk,
                made_by=author,
                witness=witness,
                reason=correction.correction_reason,
                ampoules=ampoules,
                now=now,
            )
        if dose_mg == 0:
            status, why = SlotStatus.CANCELLED, f"Dose record corrected to no dose: {reason.strip()}"
        else:
            status, why = (SlotStatus.GIVEN if dose_mg >= original.prescribed_dose_mg else SlotStatus.PARTIAL), ""
        _set_status(slot, status, by=author, now=now, reason=why)
        return correction


# --- Adverse events (S12) -------------------------------------------------------------------------------------------


@transaction.atomic
def record_adverse_event(
    *,
    administration: Administration,
    recorded_by,
    kind: str,
    occurred_at: datetime | None = None,
    naloxone_dose_mg: Decimal | None = None,
    naloxone_given_at: datetime | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> AdverseEvent:
    """S12: record the event against the dose and alert the prescriber (in the app, and by email after commit)."""
    now = _now(now)
    occurred_at = occurred_at or now
    slot = _lock_slot(administration.slot)
    clinic = slot.clinic
    require_capability_at(recorded_by, Capability.RECORD_DOSES, clinic=clinic, doing="record doses")
    administration = Administration.objects.select_related("prescription__prescriber").get(pk=administration.pk)
    naloxone_dose_mg = _decimal(naloxone_dose_mg, "naloxone_dose_mg")
    rules.check_adverse_event(
        kind=kind,
        naloxone_dose_mg=naloxone_dose_mg,
        naloxone_given_at=naloxone_given_at,
        occurred_at=occurred_at,
        administration=administration,
        now=now,
    )
    event = AdverseEvent.objects.create(
        administration=administration,
        kind=kind,
        occurred_at=occurred_at,
        naloxone_dose_mg=naloxone_dose_mg if kind == AdverseEventKind.NALOXONE else None,
        naloxone_given_at=naloxone_given_at if kind == AdverseEventKind.NALOXONE else None,
        notes=notes,
        recorded_by=recorded_by,
        recorded_at=now,
    )
    naloxone = (
        f" ({rules.mg(naloxone_dose_mg)} naloxone at {rules.hhmm(naloxone_given_at, clinic.zone)})"
        if kind == AdverseEventKind.NALOXONE
        else ""
    )
    message = (
        f"S12 · {AdverseEventKind(kind).label}{naloxone}: {slot.patient.display_name}, "
        f"{Session(slot.session).label.lower()} dose of {rules.mg(administration.dose_mg)} "
        f"given at {rules.hhmm(administration.given_at, clinic.zone)}; event at {rules.hhmm(occurred_at, clinic.zone)}."
    )
    _alert(
        clinic=clinic,
        recipients=_prescribers_to_alert(administration.prescription, clinic),
        kind=AlertKind.ADVERSE_EVENT,
        message=message,
        now=now,
        adverse_event=event,
    )
    return event


# --- Missed doses and holds (S7, S11) --------------------------------------------------------------------------------


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
    prescriber,
    morning_dose_mg: Decimal | None,
    afternoon_dose_mg: Decimal | None,
    evening_dose_mg: Decimal | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> Hold:
    """S7: the prescriber's review. Sets the restart dose as a new prescription version and clears the hold.

    Idempotent: a hold already cleared is returned unchanged.
    """
    now = _now(now)
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
    hold.save(update_fields=["cleared_at", "cleared_by", "clear_notes", "restart_prescription"])
    return hold


def alert_mark_read(*, alert: Alert, user, now: datetime | None = None) -> Alert:
    """The recipient has seen the alert. A conditional update: idempotent, never moves `read_at`."""
    if alert.recipient_id != user.pk:
        raise PermissionDenied("Only the recipient can mark an alert as read.")
    now = _now(now)
    Alert.objects.filter(pk=alert.pk, read_at__isnull=True).update(read_at=now)
    alert.refresh_from_db(fields=["read_at"])
    return alert


# --- Scheduled jobs ----------------------------------------------------------------------------------------------


def _create_slots_for_clinic(*, clinic: Clinic, days_ahead: int, now: datetime, patient_ids=None) -> int:
    settings = DosingSettings.for_clinic(clinic)
    today = timezone.localdate(now, clinic.zone)
    created = 0
    for offset in range(days_ahead + 1):
        day = today + timedelta(days=offset)
        prescriptions = (
            Prescription.objects.active_on(day)
            .filter(patient__clinic=clinic, patient__episodes__ended_on__isnull=True)
            .order_by("patient_id", "signed_at")
        )
        if patient_ids is not None:
            prescriptions = prescriptions.filter(patient_id__in=patient_ids)
        primary: dict[int, Prescription] = {}
        for prescription in prescriptions:
            # One slot per session: the injectable if there is one, else the oral prescription.
            chosen = primary.get(prescription.patient_id)
            if chosen is None or (prescription.is_injectable and not chosen.is_injectable):
                primary[prescription.patient_id] = prescription
        existing = set(
            Slot.objects.filter(clinic=clinic, date=day, patient_id__in=list(primary)).values_list(
                "patient_id", "session"
            )
        )
        new_slots = []
        for session in settings.sessions():
            window_start, window_end = settings.window(day, session)
            if window_end <= now:
                continue  # a window already over is never created (it would only count as missed)
            for patient_id, prescription in primary.items():
                if prescription.dose_for(session) is None or (patient_id, session) in existing:
                    continue
                new_slots.append(
                    Slot(
                        patient_id=patient_id,
                        clinic=clinic,
                        prescription=prescription,
                        date=day,
                        session=session,
                        window_start=window_start,
                        window_end=window_end,
                    )
                )
        # A concurrent run may insert the same slots: the unique constraint and ON CONFLICT DO NOTHING keep one.
        Slot.objects.bulk_create(new_slots, ignore_conflicts=True)
        created += len(new_slots)
    return created


def create_slots(*, days_ahead: int = 1, now: datetime | None = None) -> int:
    """Make the slots of today and the next `days_ahead` days for every patient with an active prescription.

    Per clinic, in its own time zone; safe to run any number of times. Returns the number of
    slots it tried to create (a concurrent run may have made some of them).
    """
    now = _now(now)
    total = 0
    for clinic in Clinic.objects.filter(is_active=True):
        with transaction.atomic():
            total += _create_slots_for_clinic(clinic=clinic, days_ahead=days_ahead, now=now)
    return total


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


__all__ = [
    "DOSED_SLOT_STATUSES",
    "administer_dose",
    "alert_mark_read",
    "clear_hold",
    "close_missed_slots",
    "correct_administration",
    "create_slots",
    "hold_after_missed_days",
    "live_prescription",
    "may_act",
    "prescription_change",
    "prescription_create",
    "prescription_stop",
    "record_adverse_event",
    "record_pre_dose_check",
    "record_refusal",
    "sign_out_after_observation",
    "slot_mark_arrived",
    "withhold_dose",
]
