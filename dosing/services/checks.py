"""The patient at the hatch, before a dose: arrival, the pre-dose check (S5), refusal and withholding.

`_check_may_be_dosed_today` (consent, a live prescription for the session and route, no hold:
S7, S8) is asked by the pre-dose check and again by the dose itself (doses.py).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery

from clinics.access import require_capability_at
from clinics.roles import Capability
from hat_clinic.precompiled import (
    STAND_IN_DAY,
    STAND_IN_ID,
    STAND_IN_MOMENT,
    STAND_IN_OTHER_DAY,
    STAND_IN_OTHER_ID,
    STAND_IN_TEXT,
    STAND_IN_THIRD_DAY,
    Precompiled,
)
from patients.models import ConsentDecision, ConsentKind
from patients.selectors import consents_in_force, has_treatment_consent

from .. import rules
from ..models import (
    AuthorisedWith,
    CheckOutcome,
    DosingSettings,
    Hold,
    PreDoseCheck,
    Prescription,
    Session,
    Slot,
    SlotStatus,
)
from ._common import (
    _decimal,
    _lock_slot,
    _now,
    _open_hold,
    _open_hold_or_last_review,
    _set_status,
    live_prescription,
)
from .absences import overlapping_absences
from .authorisations import notify_pin_used, prescriber_act
from .episodes import check_in_open_episode, open_episode_start
from .holds import NOT_READ, _apply_missed_day_hold, hold_due, hold_on_s7_refusal, s7_look_back
from .licences import check_licence, latest_licence


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


@dataclass(frozen=True)
class _PatientFacts:
    """What S7, S8, S13 and S14 ask about the patient before a dose or a check, read in one statement under the
    patient's lock: each was a query of its own on every dose (issue 13)."""

    prescription: Prescription  # the live one of the slot's drug
    open_since: date | None  # the start of the open episode (S13)
    has_consent: bool  # a live treatment consent (S8)
    licence_valid_to: date | None  # the prescriber's latest licence for the clinic begun by the slot's day (S14)
    on_hold: bool  # an open hold (S7)
    last_cleared: datetime | None  # when the last hold was cleared (S7 counts days since)
    away_in: tuple[date, date]  # the days before the slot's that S7 looks back over ...
    away: bool  # ... and whether an absence in force touches them (if not, S7 reads no absences)


def _look_back_of(slot: Slot) -> tuple[date, date]:
    """S7's look-back for a dose or check of `slot`: the days before the slot's own."""
    return s7_look_back(slot.date - timedelta(days=1))


def _live_prescription_with_facts(*, patient_id, drug, clinic_id, day, now, away_first, away_last):
    return (
        Prescription.objects.live()
        .filter(patient_id=patient_id, drug=drug)
        .annotate(
            fact_open_since=Subquery(open_episode_start(patient_id)[:1]),
            fact_consent=Subquery(consents_in_force(patient_id, ConsentKind.TREATMENT, at=now).values("decision")[:1]),
            fact_licence_valid_to=Subquery(
                latest_licence(prescriber_id=OuterRef("prescriber_id"), clinic=clinic_id, day=day)[:1]
            ),
            fact_on_hold=Exists(Hold.objects.filter(patient_id=patient_id, cleared_at__isnull=True)),
            fact_last_cleared=Subquery(
                Hold.objects.filter(patient_id=patient_id, cleared_at__isnull=False)
                .order_by("-cleared_at")
                .values("cleared_at")[:1]
            ),
            fact_away=Exists(overlapping_absences(patient_id=patient_id, first=away_first, last=away_last)),
        )
        .order_by("-signed_at", "-pk")[:1]
    )


_LIVE_PRESCRIPTION_WITH_FACTS = Precompiled(
    _live_prescription_with_facts,
    patient_id=STAND_IN_ID,
    drug=STAND_IN_TEXT,
    clinic_id=STAND_IN_OTHER_ID,
    day=STAND_IN_DAY,
    now=STAND_IN_MOMENT,
    away_first=STAND_IN_OTHER_DAY,
    away_last=STAND_IN_THIRD_DAY,
)


def _patient_facts(slot: Slot, *, now: datetime) -> _PatientFacts | None:
    """The live prescription of the slot's drug with the patient's other facts; None when there is none (every
    caller then refuses, reading the facts one by one for the refusal's sentence as before). Precompiled: the
    ORM took longer to write this statement than PostgreSQL to run it."""
    away_first, away_last = _look_back_of(slot)
    row = _LIVE_PRESCRIPTION_WITH_FACTS.first(
        patient_id=slot.patient_id,
        drug=slot.prescription.drug,
        clinic_id=slot.clinic_id,
        day=slot.date,
        now=now,
        away_first=away_first,
        away_last=away_last,
    )
    if row is None:
        return None
    return _PatientFacts(
        prescription=row,
        open_since=row.fact_open_since,
        has_consent=row.fact_consent == ConsentDecision.GIVEN,
        licence_valid_to=row.fact_licence_valid_to,
        on_hold=row.fact_on_hold,
        last_cleared=row.fact_last_cleared,
        away_in=(away_first, away_last),
        away=row.fact_away,
    )


@dataclass
class _DoseContext:
    """The facts the rules need about one slot, gathered under lock."""

    settings: DosingSettings
    prescription: Prescription | None
    session_dose_mg: Decimal | None


def _check_may_be_dosed_today(
    slot: Slot, *, now: datetime, route: str | None = None, facts: _PatientFacts | None = None
) -> _DoseContext:
    """S7, S8, S14 and consent: shared by the pre-dose check (no route yet) and the dose itself.

    `facts` (`_patient_facts`, read under the same lock) saves a query per fact; without them each is read here.
    """
    clinic, patient = slot.clinic, slot.patient
    settings = DosingSettings.for_clinic(clinic)
    if facts is not None:
        prescription, has_consent = facts.prescription, facts.has_consent
    else:
        prescription = live_prescription(patient, slot.prescription.drug)
        has_consent = has_treatment_consent(patient, at=now)
    rules.check_treatment_consent(has_consent=has_consent)
    rules.check_prescription_for_dose(
        prescription=prescription,
        drug=slot.prescription.drug,
        day=slot.date,
        session=slot.session,
        route=route or (prescription.route if prescription else slot.prescription.route),
    )
    if facts is not None:
        check_licence(
            prescription=prescription, clinic=clinic, day=slot.date, dose=True, latest_valid_to=facts.licence_valid_to
        )  # S14
        hold, last_cleared = (_open_hold(patient) if facts.on_hold else None), facts.last_cleared
        # No absence touches the look-back: none to read (the facts asked about these very days).
        absences = [] if not facts.away and facts.away_in == _look_back_of(slot) else NOT_READ
    else:
        check_licence(prescription=prescription, clinic=clinic, day=slot.date, dose=True)  # S14
        hold, last_cleared = _open_hold_or_last_review(patient)
        absences = NOT_READ
    if hold is None:
        # S7 from the facts at dose time: the job normally holds first, but safety never waits for it.
        due = hold_due(
            patient=patient,
            prescription=prescription,
            settings=settings,
            up_to=slot.date - timedelta(days=1),
            now=now,
            top_up=slot.top_up,  # the oral top-up's own days (rules.consecutive_days_without_dose)
            last_cleared=last_cleared,
            absences=absences,
        )
        if due is not None:
            raise rules.RuleViolation("S7", due.sentence)
    rules.check_not_on_hold(hold=hold)
    return _DoseContext(
        settings=settings, prescription=prescription, session_dose_mg=prescription.dose_for(slot.session)
    )


def _open_since(facts: _PatientFacts | None) -> dict:
    """check_in_open_episode's `open_since` from the facts, when read (an open episode: no query)."""
    return {"open_since": facts.open_since} if facts is not None and facts.open_since is not None else {}


@hold_on_s7_refusal
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
    authoriser_pin: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> PreDoseCheck:
    """S5: record the check; withholding closes the slot, proceed or reduced makes it 'checked'.

    An intoxicated patient (sedation frequent/somnolent, signs of intoxication, or breath
    alcohol above the clinic's limit) can only be withheld. A reduced dose is the prescriber's
    own act: recorded by the prescriber signed in (`authorised_by` empty or themselves), or by a
    nurse naming the prescriber (`authorised_by`) who types their PIN (`authoriser_pin`); it is
    recorded with its time and how, and stands for the session whatever check follows it
    (rules.standing_reduction). A later check otherwise replaces an earlier one.
    """
    now = _now(now)
    breath_alcohol_ug = _decimal(breath_alcohol_ug, "breath_alcohol_ug")
    reduced_dose_mg = _decimal(reduced_dose_mg, "reduced_dose_mg")
    authoriser, authorised_with = None, ""
    if outcome == CheckOutcome.REDUCED:
        # Before any lock: the PIN hash is deliberately slow.
        require_capability_at(checked_by, Capability.RECORD_DOSES, clinic=slot.clinic, doing="record doses")
        authoriser, authorised_with = prescriber_act(
            clinic=slot.clinic,
            acting=checked_by,
            named=authorised_by,
            pin=authoriser_pin,
            rule="S5",
            what="A reduced dose",
            who_field="authorised_by",
            pin_field="authoriser_pin",
        )
    # The transaction starts after the PIN: a refusal rolls it back, and a wrong PIN's count must stay.
    with transaction.atomic():
        slot = _lock_slot(slot)
        zone = slot.clinic.zone
        require_capability_at(checked_by, Capability.RECORD_DOSES, clinic=slot.clinic, doing="record doses")
        facts = _patient_facts(slot, now=now)
        check_in_open_episode(slot, for_what="pre-dose check", **_open_since(facts))  # S13
        rules.check_slot_open_for_update(slot=slot, zone=zone)
        rules.check_slot_window(slot=slot, now=now, zone=zone)
        if outcome not in CheckOutcome.values:
            raise ValidationError({"outcome": "Choose proceed, withhold or reduced dose."})
        context = _check_may_be_dosed_today(slot, now=now, facts=facts)
        rules.check_pre_dose_findings(
            outcome=outcome,
            sedation=sedation,
            intoxication_signs=intoxication_signs,
            breath_alcohol_ug=breath_alcohol_ug,
            withhold_reason=withhold_reason,
            reduced_dose_mg=reduced_dose_mg,
            authoriser_may_prescribe=authoriser is not None,
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
            authorised_by=authoriser,
            authorised_at=now if authoriser is not None else None,
            authorised_with=authorised_with,
            checked_by=checked_by,
            checked_at=now,
        )
        check.full_clean(exclude=["slot", "checked_by", "authorised_by"])
        check.save()
        if authorised_with == AuthorisedWith.PIN:
            notify_pin_used(
                clinic=slot.clinic,
                prescriber=authoriser,
                recorded_by=checked_by,
                what=f"A reduced dose of {rules.mg(reduced_dose_mg)} for {slot.patient.display_name} "
                f"({Session(slot.session).label.lower()} session)",
                now=now,
            )
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
