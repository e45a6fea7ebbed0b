"""The witnessed dose (S1-S9, S11), the sign-out after observation (S6) and dose corrections (S10).

A dose of a drug in the controlled-drug register writes its register lines in the same
transaction (cd_register.services), so the dose and the register commit or roll back together.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef

from cd_register.models import CdDrug
from cd_register.services import correct_draw_for_administration, draw_for_administration
from clinics.access import require_capability_at
from clinics.models import Clinic, User
from clinics.roles import Capability
from clinics.services import RightGuess, witness_secret_guess
from hat_clinic.precompiled import STAND_IN_ID, STAND_IN_MOMENT, Precompiled, PrecompiledInsert

from .. import rules
from ..models import (
    INJECTABLE_DRUGS,
    Administration,
    AlertKind,
    DosingSettings,
    Drug,
    ObservationSignOut,
    PreDoseCheck,
    Route,
    Session,
    SignOutState,
    Slot,
    SlotStatus,
)
from ._common import _decimal, _lock_slot, _now, _set_status, _status_changed, live_prescription
from .alerts import _alert, _prescribers_to_alert
from .checks import _check_may_be_dosed_today, _open_since, _patient_facts
from .episodes import check_in_open_episode
from .holds import hold_on_s7_refusal

# The reason on a dose given on a slot reopened by a correction to 0 mg (it points at that entry).
DOSE_AFTER_VOIDED_RECORD = "Dose given after the earlier record was corrected to no dose"


@dataclass
class _RecentDoses:
    """The patient's administrations a dose decision needs, read in one query (it runs on every dose)."""

    existing: Administration | None  # this slot's original entry (S1), corrected or not; None once voided
    voided: Administration | None  # this slot's entry in force when corrected to 0 mg (S10: the slot reopened)
    today: list[Administration]  # entries in force on the slot's day (S2, S4)
    last_injectable_at: datetime | None  # in force, injectable, within the minimum interval (S3)


def _recent(*, patient_id, since):
    corrections = Administration.objects.filter(corrects=OuterRef("pk"))
    return (
        Administration.objects.filter(patient_id=patient_id, given_at__gte=since)
        .annotate(slot_date=F("slot__date"), in_force=~Exists(corrections))
        .only("slot_id", "drug", "dose_mg", "given_at", "nurse_id", "corrects_id", "recorded_at")
    )


def _checks(*, slot_id):
    """The slot's pre-dose checks, the latest first (S5). Who authorised a reduction is read only for a refusal."""
    return PreDoseCheck.objects.filter(slot_id=slot_id).order_by("-checked_at", "-pk")


_CHECKS = Precompiled(_checks, slot_id=STAND_IN_ID)
_RECENT = Precompiled(_recent, patient_id=STAND_IN_ID, since=STAND_IN_MOMENT)  # on every dose: precompiled
_ADMINISTRATION = PrecompiledInsert(Administration)  # every dose's INSERT, written once


def _recent_doses(*, slot: Slot, now: datetime, settings: DosingSettings) -> _RecentDoses:
    """Entries of the slot's day, and any given within the minimum interval before `now`.

    A dose older than the interval cannot refuse a dose under S3, so the window changes no decision.
    Bounded by time (issue 13.7): only entries given since the earlier of the slot's clinic-local
    midnight less the correction tolerance (a corrected time stays within the window and the
    tolerance, S10) and `now` less the minimum interval, so the index administration_patient_recent
    reads a day's rows, not the patient's years of history.
    """
    day_start = datetime.combine(slot.date, time(0, 0), tzinfo=slot.clinic.zone)
    since = min(day_start - rules.CORRECTION_TOLERANCE, now - settings.minimum_interval)
    rows = _RECENT.all(patient_id=slot.patient_id, since=since)
    in_force = [row for row in rows if row.in_force]
    injectable = [row.given_at for row in in_force if row.drug in INJECTABLE_DRUGS and row.dose_mg > 0]
    ours = [row for row in rows if row.slot_id == slot.pk]
    tip = next((row for row in ours if row.in_force), None)
    voided = tip if tip is not None and tip.dose_mg == 0 else None
    return _RecentDoses(
        existing=None if voided else next((row for row in ours if row.corrects_id is None), None),
        voided=voided,
        today=[row for row in in_force if row.slot_date == slot.date],
        last_injectable_at=max((at for at in injectable if at > now - settings.minimum_interval), default=None),
    )


@lru_cache(maxsize=1)
def _may_witness_sql() -> str:
    """S9's question as one statement, written once: the ORM built the same six joins again on every call.

    The user of this clinic's staff (active, the clinic active) whose role (a group) grants the capability.
    Table and column names come from the models, so the statement follows them.
    """
    clinics, groups = User._meta.get_field("clinics"), User._meta.get_field("groups")
    granted = Group._meta.get_field("permissions")
    user, clinic, permission = User._meta.db_table, Clinic._meta.db_table, Permission._meta.db_table
    content_type = ContentType._meta.db_table
    return (
        f'SELECT 1 FROM "{user}" u '  # noqa: S608 (the models' tables and columns; the values are parameters)
        f'JOIN "{clinics.m2m_db_table()}" uc ON uc."{clinics.m2m_column_name()}" = u."id" '
        f'JOIN "{clinic}" c ON c."id" = uc."{clinics.m2m_reverse_name()}" '
        f'JOIN "{groups.m2m_db_table()}" ug ON ug."{groups.m2m_column_name()}" = u."id" '
        f'JOIN "{granted.m2m_db_table()}" gp ON gp."{granted.m2m_column_name()}" = ug."{groups.m2m_reverse_name()}" '
        f'JOIN "{permission}" p ON p."id" = gp."{granted.m2m_reverse_name()}" '
        f'JOIN "{content_type}" ct ON ct."id" = p."content_type_id" '
        'WHERE u."id" = %s AND u."is_active" = %s AND c."id" = %s AND c."is_active" = %s '
        'AND p."codename" = %s AND ct."app_label" = %s LIMIT 1'
    )


def _may_witness(witness, clinic: Clinic) -> bool:
    """S9: an active member of staff of this clinic whose role records doses. One query: it runs on every dose,
    none when the witness was read with the answer for this clinic (`dosing.selectors.witness_at`)."""
    if witness is None or not witness.is_active:
        return False
    read = getattr(witness, "may_witness_at", None)
    if read is not None and read[0] == clinic.pk:
        return read[1]
    app_label, codename = Capability.RECORD_DOSES.perm.split(".")
    with connection.cursor() as cursor:
        cursor.execute(_may_witness_sql(), [witness.pk, True, clinic.pk, True, codename, app_label])
        return cursor.fetchone() is not None


def _verify_witness(
    *, clinic: Clinic, nurse, witness, witness_password: str, confirmed: bool = False
) -> RightGuess | None:
    """S9, checked before any lock is taken: the witness's own PIN (or password) with lockout on guessing.

    A right PIN answers a `RightGuess` that the caller settles first in its transaction (or at once, outside
    one): see `witness_secret_guess`. A right PIN refused for another reason (a witness of another clinic) is
    settled before the refusal, so that while the witness is locked it too is answered as locked.
    `confirmed`: the witness typed their PIN for this very dose a moment ago (`confirm_witness`);
    who may witness is still checked now.
    """
    may_witness = _may_witness(witness, clinic)
    guess = None
    if not confirmed and witness is not None:
        guess = witness_secret_guess(witness=witness, secret=witness_password)
    try:
        rules.check_witness(
            nurse=nurse,
            witness=witness,
            witness_may_witness=may_witness,
            password_correct=confirmed or guess is not None,
            password_given=confirmed or bool(witness_password),
        )
    except ValidationError:
        if guess is not None:
            guess.settle()
        raise
    return guess


# --- The dose form in one pass (issue 14.5) -------------------------------------------------------------------------

# How long a witness's PIN, typed on a dose form that came back with another problem, stands for that dose.
WITNESS_CONFIRMATION_LIFETIME = timedelta(minutes=5)
_CONFIRMATION_SALT = "dosing.witness-confirmation"


def _witnessed(*, slot: Slot, nurse, witness, dose_mg, ampoules) -> dict:
    """What a witness's PIN vouches for: this nurse giving this dose, drawn from these ampoules, in this slot."""
    drawn = sorted([register.pk, str(Decimal(count).normalize())] for register, count in ampoules or ())
    return {
        "slot": slot.pk,
        "nurse": nurse.pk,
        "witness": witness.pk,
        "dose_mg": str(Decimal(dose_mg).normalize()),
        "ampoules": drawn if ampoules is not None else None,
    }


def confirm_witness(
    *, slot: Slot, nurse, witness, witness_password: str, dose_mg, ampoules=None, now: datetime | None = None
) -> str:
    """S9 once per dose: check the witness's PIN now, and return a confirmation of it for this dose.

    A dose form can come back for a reason that is not the witness's (the injection site left
    empty): the page keeps this confirmation on the server (the session, never the page, and never
    the PIN itself) and `administer_dose` takes it instead of the PIN for `WITNESS_CONFIRMATION_LIFETIME`.
    It vouches for the slot, the nurse, the witness, the dose and the ampoules: change one and the
    witness types their PIN again. Wrong PINs count towards the witness's lockout as anywhere else.
    """
    now = _now(now)
    guess = _verify_witness(clinic=slot.clinic, nurse=nurse, witness=witness, witness_password=witness_password)
    if guess is not None:
        guess.settle()
    payload = _witnessed(slot=slot, nurse=nurse, witness=witness, dose_mg=dose_mg, ampoules=ampoules)
    return signing.dumps({**payload, "at": now.timestamp()}, salt=_CONFIRMATION_SALT)


def witness_confirmation_holds(
    confirmation: str, *, slot: Slot, nurse, witness, dose_mg, ampoules=None, now: datetime | None = None
) -> bool:
    """True when `confirmation` (from `confirm_witness`) vouches for exactly this dose and is still fresh."""
    if not confirmation or witness is None or dose_mg is None:
        return False
    now = _now(now)
    try:
        payload = signing.loads(confirmation, salt=_CONFIRMATION_SALT)
        confirmed_at = datetime.fromtimestamp(float(payload.pop("at")), tz=UTC)
    except (signing.BadSignature, KeyError, TypeError, ValueError, OverflowError):
        return False
    fresh = now - WITNESS_CONFIRMATION_LIFETIME <= confirmed_at <= now
    return fresh and payload == _witnessed(slot=slot, nurse=nurse, witness=witness, dose_mg=dose_mg, ampoules=ampoules)


NOT_ENTERED = object()  # a field the form already refused: its checks are left to the form's own message


def check_dose_entry(
    *,
    slot: Slot,
    nurse,
    dose_mg=NOT_ENTERED,
    route=NOT_ENTERED,
    injection_site=NOT_ENTERED,
    witness=NOT_ENTERED,
    witness_password_given: bool = False,
) -> None:
    """Every refusal that what the nurse entered earns, raised together, before the witness's PIN is tried.

    Issue 14.5: a form that refuses the PIN, then the site, then the dose, one submission at a time,
    costs a session minutes. These are the checks that need no lock: S4 (more than 0, not above the
    session's dose or a standing reduction, S5), S8 (the prescription's route), the injection site,
    S9 (a witness of this clinic, not the nurse, whose PIN is typed). `administer_dose` makes every
    one of them again under its lock with the rest, so nothing here decides alone.
    """
    prescription = live_prescription(slot.patient, slot.prescription.drug) or slot.prescription
    checks = []
    if dose_mg is not NOT_ENTERED:
        session_dose = prescription.dose_for(slot.session)
        reduction = rules.standing_reduction(list(slot.checks.select_related("authorised_by")))
        checks.append(lambda: rules.check_dose_amount(dose_mg=dose_mg))
        if session_dose is not None and dose_mg:
            checks.append(
                lambda: rules.check_dose_within_prescription(
                    dose_mg=dose_mg,
                    session=slot.session,
                    session_dose_mg=session_dose,
                    daily_max_mg=prescription.daily_max_mg,
                    given_today_mg=Decimal(0),  # the day's doses are counted under the lock
                )
            )
        if reduction is not None and dose_mg:
            checks.append(
                lambda: rules.check_dose_after_pre_dose_check(
                    check=reduction, dose_mg=dose_mg, zone=slot.clinic.zone, reduction=reduction
                )
            )
    if route is not NOT_ENTERED:
        checks.append(lambda: rules.check_route_as_prescribed(prescribed_route=prescription.route, route=route))
    if injection_site is not NOT_ENTERED:
        checks.append(
            lambda: rules.check_injection_site(injectable=prescription.is_injectable, injection_site=injection_site)
        )
    if witness is not NOT_ENTERED:
        checks.append(
            lambda: rules.check_witness(
                nurse=nurse,
                witness=witness,
                witness_may_witness=_may_witness(witness, slot.clinic),
                password_correct=True,  # tried by confirm_witness, once everything else is right
                password_given=witness_password_given,
            )
        )
    rules.refusals_together(*checks)


@hold_on_s7_refusal
def administer_dose(
    *,
    slot: Slot,
    dose_mg: Decimal,
    route: str,
    injection_site: str,
    nurse,
    witness,
    witness_password: str = "",
    ampoules: list | None = None,
    witness_confirmation: str = "",
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

    `witness_confirmation` (pages only): the witness's PIN for this dose, checked a moment ago by
    `confirm_witness`, instead of `witness_password`.
    """
    now = _now(now)
    require_capability_at(nurse, Capability.RECORD_DOSES, clinic=slot.clinic, doing="record doses")
    dose_mg = _decimal(dose_mg, "dose_mg")
    rules.check_dose_amount(dose_mg=dose_mg)
    confirmed = witness_confirmation_holds(
        witness_confirmation, slot=slot, nurse=nurse, witness=witness, dose_mg=dose_mg, ampoules=ampoules, now=now
    )
    guess = _verify_witness(
        clinic=slot.clinic, nurse=nurse, witness=witness, witness_password=witness_password, confirmed=confirmed
    )
    try:
        with transaction.atomic():
            if guess is not None:
                guess.settle()  # S9's lockout first, before anything here can refuse (witness_secret_guess)
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


def _administer_locked(*, slot, dose_mg, route, injection_site, nurse, witness, ampoules, now) -> Administration:
    slot = _lock_slot(slot)
    facts = _patient_facts(slot, now=now)
    check_in_open_episode(slot, **_open_since(facts))  # S13
    patient, zone = slot.patient, slot.clinic.zone
    recent = _recent_doses(slot=slot, now=now, settings=DosingSettings.for_clinic(slot.clinic))
    rules.check_slot_can_be_dosed(slot=slot, existing=recent.existing, now=now, zone=zone)
    if route not in Route.values:
        raise ValidationError({"route": "Choose the route."})
    context = _check_may_be_dosed_today(slot, now=now, route=route, facts=facts)
    prescription, settings = context.prescription, context.settings
    rules.check_injection_site(injectable=prescription.is_injectable, injection_site=injection_site)
    _refuse_ampoules_outside_the_register(prescription.drug, ampoules)
    checks = _CHECKS.all(slot_id=slot.pk)
    # S5 on a slot reopened by a 0 mg correction: only a check since then counts as this dose's check; an
    # authorised reduction of the session still stands (the lower dose is the safe side).
    check = _check_since_reopened(checks[0] if checks else None, recent.voided)
    reduction = rules.standing_reduction(checks)
    rules.check_dose_after_pre_dose_check(check=check, dose_mg=dose_mg, zone=zone, reduction=reduction)
    today = recent.today
    rules.check_sessions_per_day(
        # S2 counts the sessions of this drug: an oral top-up beside the injectable has its own slot.
        slot=slot,
        settings=settings,
        doses_today=sum(1 for entry in today if entry.dose_mg > 0 and entry.drug == prescription.drug),
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
    authorised_mg = reduction.reduced_dose_mg if reduction is not None else context.session_dose_mg
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
        **_after_voided(recent.voided),
    )
    administration.full_clean(
        exclude=["slot", "patient", "prescription", "nurse", "witness", "corrects"], validate_constraints=False
    )
    status = SlotStatus.GIVEN if dose_mg >= authorised_mg else SlotStatus.PARTIAL
    # The slot's new status is written by the same statement as the dose (one round trip, the same transaction).
    _ADMINISTRATION.create([administration], updating=[_status_changed(slot, status, by=nurse, now=now)])
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
    return administration


def _check_since_reopened(check, voided: Administration | None):
    """S5 on a slot reopened by a correction to 0 mg: only a check recorded after the reopening counts."""
    if voided is not None and check is not None and check.checked_at < voided.recorded_at:
        return None
    return check


def _after_voided(voided: Administration | None) -> dict:
    """The dose given on a reopened slot is the next entry of the slot's chain: it points at the 0 mg entry it
    follows (one original per slot stays S1's constraint), so the entry nobody corrects is the dose in force."""
    if voided is None:
        return {}
    return {"corrects": voided, "correction_reason": DOSE_AFTER_VOIDED_RECORD}


def _refuse_ampoules_outside_the_register(drug: str, ampoules) -> None:
    """Ampoules chosen for a drug no register holds (oral methadone or morphine) are a mistake, not a no-op."""
    if ampoules is not None and drug not in CdDrug.values:
        raise ValidationError(
            {"ampoules": f"Ampoules: {Drug(drug).label.lower()} is not in a controlled-drug register here."}
        )


def _root(administration: Administration) -> Administration:
    """The first entry of this dose: corrections lead back to it; a dose given after a 0 mg entry starts anew."""
    while administration.corrects_id is not None and administration.corrects.dose_mg > 0:
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

    Correct the entry in force: an entry already corrected is refused (stale form). The corrected
    time stays within the slot's day and window, give or take `rules.CORRECTION_TOLERANCE`, and the
    corrected amount and time are checked against S3 and S4 as a dose would be (other doses of
    the day, other injectable doses within the minimum interval either side). A correction that
    raises the dose alerts the prescriber. A dose of 0 means no dose was given: the slot reopens
    (a new pre-dose check, then the right dose) while its window is open, else it is missed.

    The controlled-drug register follows in the same transaction (SPEC 5): without `ampoules`
    the ampoules recorded were right and only the waste changes; with them (a list of
    (register, count), empty when nothing was drawn) the register is corrected to that draw.
    A register refusal (not enough stock for a larger draw) saves no correction either.
    """
    now = _now(now)
    clinic = administration.slot.clinic
    require_capability_at(author, Capability.RECORD_DOSES, clinic=clinic, doing="record doses")
    dose_mg = _decimal(dose_mg, "dose_mg")
    guess = _verify_witness(clinic=clinic, nurse=author, witness=witness, witness_password=witness_password)
    with transaction.atomic():
        if guess is not None:
            guess.settle()  # S9's lockout first, before anything here can refuse (witness_secret_guess)
        slot = _lock_slot(administration.slot)
        original = Administration.objects.select_related("prescription").get(pk=administration.pk)
        rules.check_correction(
            already_corrected=Administration.objects.filter(corrects=original).exists(), reason=reason, dose_mg=dose_mg
        )
        if given_at is None or given_at > now:
            raise ValidationError({"given_at": "Give the time the dose was really given (not in the future)."})
        settings = DosingSettings.for_clinic(clinic)
        _check_correction_as_a_dose(slot=slot, original=original, dose_mg=dose_mg, given_at=given_at, settings=settings)
        _refuse_ampoules_outside_the_register(original.drug, ampoules)
        rules.check_injection_site(
            injectable=original.prescription.is_injectable and bool(dose_mg), injection_site=injection_site
        )
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
            why = f"Dose record corrected to no dose: {reason.strip()}"
            # Reopened while the window is open, so the right dose can be given; else no dose that session (S7).
            status = _status_after_voiding(slot, now=now)
        else:
            status, why = (SlotStatus.GIVEN if dose_mg >= original.prescribed_dose_mg else SlotStatus.PARTIAL), ""
        _set_status(slot, status, by=author, now=now, reason=why)
        if dose_mg > original.dose_mg:
            _alert_dose_raised(slot=slot, original=original, correction=correction, author=author, now=now)
        return correction


def _status_after_voiding(slot: Slot, *, now: datetime) -> str:
    """A slot whose dose record was corrected to 0 mg: reopened while its window is open (on the live version of
    its prescription), missed after it (no dose that session counts for S7), cancelled when the prescription
    was stopped since (or ended with the episode, S13)."""
    if now >= slot.window_end:
        return SlotStatus.MISSED
    live = live_prescription(slot.patient, slot.prescription.drug)
    if live is None:
        return SlotStatus.CANCELLED
    if live.pk != slot.prescription_id:
        slot.prescription = live
        slot.save(update_fields=["prescription"])
    return SlotStatus.SCHEDULED


def _check_correction_as_a_dose(*, slot: Slot, original: Administration, dose_mg, given_at, settings) -> None:
    """S10, S3, S4: a corrected time within the slot's window; a corrected dose and time checked as a dose.

    One query bounded by time (issue 13.7): the patient's entries since the earlier of the slot's
    day start (less the tolerance) and the corrected time less the minimum interval.
    """
    zone = slot.clinic.zone
    rules.check_correction_time(given_at=given_at, slot=slot, zone=zone)
    if dose_mg is None or dose_mg <= 0:
        return
    day_start = datetime.combine(slot.date, time(0, 0), tzinfo=zone)
    since = min(day_start - rules.CORRECTION_TOLERANCE, given_at - settings.minimum_interval)
    corrections = Administration.objects.filter(corrects=OuterRef("pk"))
    others = [
        row
        for row in Administration.objects.filter(patient_id=slot.patient_id, given_at__gte=since)
        .exclude(slot_id=slot.pk)
        .annotate(slot_date=F("slot__date"), in_force=~Exists(corrections))
        .only("drug", "dose_mg", "given_at")
        if row.in_force and row.dose_mg > 0
    ]
    prescription = original.prescription
    rules.check_dose_within_prescription(
        dose_mg=dose_mg,
        session=slot.session,
        session_dose_mg=prescription.dose_for(slot.session) or original.prescribed_dose_mg,
        daily_max_mg=rules.daily_maximum(prescription=prescription, settings=settings),
        given_today_mg=sum(
            (row.dose_mg for row in others if row.slot_date == slot.date and row.drug == original.drug), Decimal(0)
        ),
    )
    if prescription.is_injectable:
        rules.check_corrected_interval(
            given_at=given_at,
            other_doses_at=[row.given_at for row in others if row.drug in INJECTABLE_DRUGS],
            settings=settings,
            zone=zone,
        )


def _alert_dose_raised(*, slot: Slot, original: Administration, correction: Administration, author, now) -> None:
    """S10: a correction that raises a dose is the prescriber's to know about, as an adverse event is (S12)."""
    clinic = slot.clinic
    _alert(
        clinic=clinic,
        recipients=_prescribers_to_alert(original.prescription, clinic),
        kind=AlertKind.DOSE_RAISED,
        message=(
            f"S10 · {slot.patient.display_name}: the {Session(slot.session).label.lower()} dose of "
            f"{rules.day_month(slot.date)} was corrected from {rules.mg(original.dose_mg)} to "
            f"{rules.mg(correction.dose_mg)} by {rules.staff_name(correction.nurse)}: {correction.correction_reason}"
        ),
        now=now,
        administration=correction,
    )
