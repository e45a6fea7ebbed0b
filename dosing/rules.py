"""The clinical safety rules of SPEC section 4, in one place.

Every check here is a plain function of facts (no queries): the services package gathers the facts
under lock and calls these, and nothing else in the project decides a dosing rule. A
refusal is a `RuleViolation`: a Django ValidationError carrying the rule id and one plain
sentence with the facts, attached to the input field it concerns where there is one, so a
form shows it next to the field and the API answers 400 naming the field.

S10 (never edit a dose record) is also enforced by the database (migration 0002) and by the
absence of any update path in the services package.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from .models import (
    INTOXICATED_SEDATION,
    LICENSED_DRUGS,
    ROUTES_FOR_DRUG,
    AdverseEventKind,
    CheckOutcome,
    Drug,
    Route,
    Session,
    SlotStatus,
    Supply,
    is_injectable,
)


class RuleViolation(ValidationError):
    """A refusal by one safety rule: `rule` ("S4"), `sentence` (the facts) and the `field` it concerns."""

    def __init__(self, rule: str, sentence: str, *, field: str | None = None):
        self.rule = rule
        self.sentence = sentence
        self.field = field
        self.text = f"{rule} · {sentence}"
        if field:
            super().__init__({field: [ValidationError(self.text, code=rule)]})
        else:
            super().__init__(self.text, code=rule)

    def __str__(self) -> str:
        return self.text


def refusals_together(*checks) -> None:
    """Run independent checks and raise every refusal at once, so a form shows them in one pass (issue 14.5).

    A single refusal is raised as it is (a RuleViolation keeps its `rule` for the API).
    """
    refusals = []
    for check in checks:
        try:
            check()
        except ValidationError as refusal:
            refusals.append(refusal)
    if len(refusals) == 1:
        raise refusals[0]
    if refusals:
        merged: dict[str, list] = {}
        for refusal in refusals:
            by_field = refusal.error_dict if hasattr(refusal, "error_dict") else {NON_FIELD_ERRORS: refusal.error_list}
            for field, errors in by_field.items():
                merged.setdefault(field, []).extend(errors)
        raise ValidationError(merged)


# --- How facts are written in a refusal -----------------------------------------------


def hhmm(moment: datetime, zone) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def day_month(day: date) -> str:
    return f"{day.day} {day:%b}"


def mg(amount: Decimal) -> str:
    value = Decimal(amount).normalize()
    text = f"{value:,f}" if value == value.to_integral() else f"{value:,}"
    return f"{text} mg"


def duration(delta: timedelta) -> str:
    minutes = max(0, int(-(-delta.total_seconds() // 60)))  # round up: never promise too early
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def staff_name(user) -> str:
    return user.get_full_name() or user.username


# --- S1 and S11: is this slot still open for a dose? ------------------------------------


def check_slot_can_be_dosed(*, slot, existing, now: datetime, zone) -> None:
    """S1: one administration per slot; S11: only inside the session window; closed slots stay closed.

    `existing` is the slot's original administration, if any.
    """
    session = Session(slot.session).label.lower()
    if existing is not None:
        raise RuleViolation(
            "S1",
            f"Already given at {hhmm(existing.given_at, zone)} by {staff_name(existing.nurse)}; one dose per session",
        )
    changed = f" at {hhmm(slot.status_changed_at, zone)}" if slot.status_changed_at else ""
    reason = f": {slot.status_reason}" if slot.status_reason else ""
    if slot.status == SlotStatus.MISSED:
        raise RuleViolation("S11", f"The {session} slot was closed as missed{changed}")
    if slot.status == SlotStatus.WITHHELD:
        raise RuleViolation("S5", f"This dose was withheld{changed}{reason}")
    if slot.status == SlotStatus.REFUSED:
        raise RuleViolation("S1", f"The patient refused this dose{changed}{reason}; the slot is closed")
    if slot.status == SlotStatus.CANCELLED:
        raise RuleViolation("S8", f"This slot was cancelled{changed}{reason}")
    check_slot_window(slot=slot, now=now, zone=zone)


def check_slot_window(*, slot, now: datetime, zone) -> None:
    """S11: a slot is used inside its session window; after it, it is missed."""
    session = Session(slot.session).label.lower()
    if now < slot.window_start:
        raise RuleViolation("S11", f"The {session} window opens at {hhmm(slot.window_start, zone)}")
    if now >= slot.window_end:
        raise RuleViolation("S11", f"The {session} window ended at {hhmm(slot.window_end, zone)}; this slot is missed")


def check_slot_open_for_update(*, slot, zone) -> None:
    """Arrival, check, refusal and withholding only change a slot that is still open."""
    if slot.status in (SlotStatus.GIVEN, SlotStatus.PARTIAL):
        raise RuleViolation("S1", "This dose has already been given; the slot is closed")
    if slot.status not in (SlotStatus.SCHEDULED, SlotStatus.ARRIVED, SlotStatus.CHECKED):
        changed = f" at {hhmm(slot.status_changed_at, zone)}" if slot.status_changed_at else ""
        raise RuleViolation("S11", f"This slot is already closed as {slot.get_status_display().lower()}{changed}")


# --- S2: sessions per day -----------------------------------------------------------------


def check_sessions_per_day(*, slot, settings, doses_today: int) -> None:
    """S2: only the sessions the clinic runs, and no more doses a day than sessions."""
    per_day = settings.sessions_per_day
    if slot.session not in settings.sessions():
        raise RuleViolation(
            "S2",
            f"The clinic runs {per_day} session{'s' if per_day > 1 else ''} a day; "
            f"there is no {Session(slot.session).label.lower()} dose",
        )
    if doses_today >= per_day:
        raise RuleViolation(
            "S2",
            f"{doses_today} dose{'s' if doses_today > 1 else ''} already given today; "
            f"the limit is {per_day} session{'s' if per_day > 1 else ''} a day",
        )


# --- S3: minimum interval between injectable doses -------------------------------------------


def check_minimum_interval(*, drug: str, last_injectable_at: datetime | None, now: datetime, settings, zone) -> None:
    if not is_injectable(drug) or last_injectable_at is None:
        return
    ends = last_injectable_at + settings.minimum_interval
    if now < ends:
        raise RuleViolation(
            "S3",
            f"No dose: last injectable dose at {hhmm(last_injectable_at, zone)}; "
            f"the minimum interval of {duration(settings.minimum_interval)} ends at {hhmm(ends, zone)}",
        )


# --- S4: dose within the prescription and the daily maximum ------------------------------------


def check_dose_amount(*, dose_mg: Decimal, field: str = "dose_mg") -> None:
    if dose_mg is None or dose_mg <= 0:
        raise RuleViolation("S4", "The dose must be more than 0 mg", field=field)


def check_dose_within_prescription(
    *,
    dose_mg: Decimal,
    session: str,
    session_dose_mg: Decimal,
    daily_max_mg: Decimal,
    given_today_mg: Decimal,
    field: str = "dose_mg",
) -> None:
    """S4: not above the session's prescribed dose, nor today's total above the daily maximum."""
    check_dose_amount(dose_mg=dose_mg, field=field)
    label = Session(session).label.lower()
    if dose_mg > session_dose_mg:
        raise RuleViolation(
            "S4",
            f"{mg(dose_mg)} is more than the prescribed {mg(session_dose_mg)} for the {label} session",
            field=field,
        )
    if given_today_mg + dose_mg > daily_max_mg:
        raise RuleViolation(
            "S4",
            f"{mg(dose_mg)} would bring today's total to {mg(given_today_mg + dose_mg)}, "
            f"above the daily maximum of {mg(daily_max_mg)}",
            field=field,
        )


def daily_maximum(*, prescription, settings) -> Decimal:
    """S4: the lower of the prescription's daily maximum and the clinic's ceiling for the drug."""
    ceiling = settings.daily_ceiling_mg(prescription.drug)
    return min(prescription.daily_max_mg, ceiling) if ceiling is not None else prescription.daily_max_mg


def check_prescription_doses(*, drug: str, route: str, supply: str, doses: dict, daily_max_mg, settings) -> None:
    """S2, S4, S8 when a prescription (or a new version) is written."""
    if route not in Route.values:
        raise RuleViolation("S8", "Choose the route", field="route")
    if supply not in Supply.values:
        raise RuleViolation("S8", "Choose how the dose is supplied", field="supply")
    if route not in ROUTES_FOR_DRUG[drug]:
        allowed = " or ".join(sorted(Route(r).label.lower() for r in ROUTES_FOR_DRUG[drug]))
        raise RuleViolation(
            "S8", f"{Drug(drug).label} is given {allowed}, not {Route(route).label.lower()}", field="route"
        )
    if supply == Supply.TAKE_HOME and is_injectable(drug):
        raise RuleViolation("S8", f"{Drug(drug).label} is never supplied to take home", field="supply")
    if daily_max_mg is None or daily_max_mg <= 0:
        raise RuleViolation("S4", "The daily maximum must be more than 0 mg", field="daily_max_mg")
    ceiling = settings.daily_ceiling_mg(drug)
    if ceiling is not None and daily_max_mg > ceiling:
        raise RuleViolation(
            "S4",
            f"A daily maximum of {mg(daily_max_mg)} is above the clinic's ceiling of {mg(ceiling)} "
            f"for {Drug(drug).label.lower()}",
            field="daily_max_mg",
        )
    given = {session: dose for session, dose in doses.items() if dose is not None}
    if not given:
        raise RuleViolation("S4", "Prescribe a dose for at least one session", field="morning_dose_mg")
    for session, dose in given.items():
        field = f"{session}_dose_mg"
        if dose <= 0:
            raise RuleViolation("S4", "A session dose must be more than 0 mg; leave it empty for no dose", field=field)
        if session not in settings.sessions():
            raise RuleViolation(
                "S2",
                f"The clinic runs {settings.sessions_per_day} sessions a day; there is no {session} session",
                field=field,
            )
    total = sum(given.values(), Decimal(0))
    if total > daily_max_mg:
        raise RuleViolation(
            "S4",
            f"The session doses add up to {mg(total)}, more than the daily maximum of {mg(daily_max_mg)}",
            field="daily_max_mg",
        )


# --- S5: pre-dose check ------------------------------------------------------------------------


def intoxication_findings(
    *, sedation: str, intoxication_signs: bool, breath_alcohol_ug: Decimal, settings
) -> list[str]:
    findings = []
    if sedation in INTOXICATED_SEDATION:
        findings.append("sedated")
    if intoxication_signs:
        findings.append("signs of intoxication")
    if breath_alcohol_ug is not None and breath_alcohol_ug > settings.breath_alcohol_limit_ug:
        findings.append(
            f"breath alcohol {breath_alcohol_ug.normalize():f} µg/100 ml is above the limit of "
            f"{settings.breath_alcohol_limit_ug.normalize():f}"
        )
    return findings


def check_pre_dose_findings(
    *,
    outcome: str,
    sedation: str,
    intoxication_signs: bool,
    breath_alcohol_ug: Decimal,
    withhold_reason: str,
    reduced_dose_mg: Decimal | None,
    authoriser_may_prescribe: bool,
    session_dose_mg: Decimal | None,
    settings,
) -> None:
    """S5: an intoxicated patient is withheld; a reduced dose needs a prescriber's authorisation."""
    if breath_alcohol_ug is None or breath_alcohol_ug < 0:
        raise RuleViolation("S5", "Record the breath alcohol reading (0 or more)", field="breath_alcohol_ug")
    findings = intoxication_findings(
        sedation=sedation, intoxication_signs=intoxication_signs, breath_alcohol_ug=breath_alcohol_ug, settings=settings
    )
    if findings and outcome != CheckOutcome.WITHHOLD:
        raise RuleViolation("S5", f"An intoxicated patient is withheld: {'; '.join(findings)}", field="outcome")
    if outcome == CheckOutcome.WITHHOLD and not (withhold_reason or "").strip():
        raise RuleViolation("S5", "Say why the dose is withheld", field="withhold_reason")
    if outcome == CheckOutcome.REDUCED:
        if not authoriser_may_prescribe:
            raise RuleViolation(
                "S5", "A reduced dose needs the authorisation of a prescriber of this clinic", field="authorised_by"
            )
        if reduced_dose_mg is None or reduced_dose_mg <= 0:
            raise RuleViolation("S5", "Give the reduced dose in mg", field="reduced_dose_mg")
        if session_dose_mg is not None and reduced_dose_mg >= session_dose_mg:
            raise RuleViolation(
                "S5",
                f"A reduced dose must be less than the prescribed {mg(session_dose_mg)}",
                field="reduced_dose_mg",
            )


def check_prescriber_act(
    *,
    rule: str,
    what: str,
    named,
    named_may_prescribe: bool,
    acting_may_prescribe: bool,
    pin_given: bool,
    pin_correct: bool,
    who_field: str,
    pin_field: str,
) -> None:
    """S5, S7: an authorisation is the prescriber's own act: their signed-in session, or their PIN typed here.

    `named` is the prescriber named on someone else's device (None: the signed-in user acts themselves).
    Naming a prescriber without their PIN authorises nothing.
    """
    if named is None:
        if not acting_may_prescribe:
            raise RuleViolation(
                rule,
                f"{what} needs a prescriber of this clinic: signed in as themselves, or typing their PIN here",
                field=who_field,
            )
        return
    if not named_may_prescribe:
        raise RuleViolation(rule, f"{what} needs the authorisation of a prescriber of this clinic", field=who_field)
    if not pin_given:
        raise RuleViolation(
            rule,
            f"{what} needs {staff_name(named)} to type their own PIN (or password); naming them is not enough",
            field=pin_field,
        )
    if not pin_correct:
        raise RuleViolation(rule, f"{staff_name(named)}'s PIN (or password) is not correct", field=pin_field)


def standing_reduction(checks):
    """S5: an authorised reduction stands for the session whatever check follows it: the lowest one, if any."""
    reductions = [check for check in checks if check.outcome == CheckOutcome.REDUCED]
    return min(reductions, key=lambda check: (check.reduced_dose_mg, -check.checked_at.timestamp()), default=None)


def check_dose_after_pre_dose_check(*, check, dose_mg: Decimal, zone, reduction=None) -> None:
    """S5: no dose without a check in this session that allows it, and no more than a reduced dose allows.

    `reduction` is the session's standing reduction (`standing_reduction`); by default the latest check's.
    """
    if check is None:
        raise RuleViolation("S5", "No dose without a pre-dose check in this session")
    if check.outcome == CheckOutcome.WITHHOLD:
        raise RuleViolation(
            "S5", f"The pre-dose check at {hhmm(check.checked_at, zone)} withheld this dose: {check.withhold_reason}"
        )
    if reduction is None and check.outcome == CheckOutcome.REDUCED:
        reduction = check
    if reduction is not None and dose_mg > reduction.reduced_dose_mg:
        raise RuleViolation(
            "S5",
            f"{mg(dose_mg)} is more than the reduced dose of {mg(reduction.reduced_dose_mg)} "
            f"authorised by {staff_name(reduction.authorised_by)} at {hhmm(reduction.checked_at, zone)}; "
            "it stands for this session",
            field="dose_mg",
        )


# --- S6: observation --------------------------------------------------------------------------------


def check_observation_over(*, administration, now: datetime, zone) -> None:
    if now < administration.observation_ends_at:
        raise RuleViolation(
            "S6",
            f"Observation ends at {hhmm(administration.observation_ends_at, zone)}; "
            f"sign-out is possible in {duration(administration.observation_ends_at - now)}",
        )


# --- S7: missed-dose hold -----------------------------------------------------------------------------


def hold_sentence(*, missed_days: int, missed_since: date) -> str:
    return (
        f"No dose: {missed_days} consecutive day{'s' if missed_days > 1 else ''} missed since "
        f"{day_month(missed_since)}; prescriber review required"
    )


def check_not_on_hold(*, hold) -> None:
    if hold is not None:
        # The hold's own sentence when it has one (missed days, or a return after an absence).
        recorded = (hold.reason or "").removeprefix("S7 · ")
        if not recorded.startswith("No dose:"):
            recorded = hold_sentence(missed_days=hold.missed_days, missed_since=hold.missed_since)
        raise RuleViolation("S7", recorded)


def consecutive_days_without_dose(
    days: list[tuple[date, list[tuple[str, bool]]]], away=frozenset(), *, top_up: bool = False
) -> list[date]:
    """S7: the run of most recent complete days on which no dose was given.

    `days` is a list of (clinic-local date, [(status, is the slot an oral top-up's), ...] of that
    day's slots, cancelled ones left out), newest first. Each counts its own slots only:

    - the injectable's run (`top_up=False`) ignores the oral top-up's slot. S7 is about tolerance to
      the injectable; a top-up (e.g. oral methadone 60 mg) is a fraction of the opioid of a day's
      injectable doses, so a day on which only the top-up was given is a day without a dose;
    - the top-up's run (`top_up=True`) counts its once-a-day slot only: days without it refuse the
      top-up until the prescriber reviews it, while the injectable the patient did take goes on.

    A day still in progress (an open slot) is skipped; a day counts when all its slots are closed
    and none was given, whether missed, refused or withheld, because what matters for safety is lost
    opioid tolerance. The run stops at a dosed day or a gap, except a gap of days in `away` (a planned
    absence: neither counted nor breaking the run).

    The caller passes a slot whose window has ended as missed, whether or not the missed-slot job
    has closed it: S7 is decided from the facts at dose time, never from the job's timing.
    """
    run: list[date] = []
    for day, slots in days:
        statuses = [status for status, is_top_up in slots if is_top_up == top_up]
        if not statuses:
            continue
        if any(status in (SlotStatus.SCHEDULED, SlotStatus.ARRIVED, SlotStatus.CHECKED) for status in statuses):
            if run:
                break  # an open slot inside the run cannot happen in order; be safe and stop
            continue
        if any(status in (SlotStatus.GIVEN, SlotStatus.PARTIAL) for status in statuses):
            break
        if run and (run[-1] - day).days != 1 and not _bridged_by_absence(run[-1], day, away):
            break
        run.append(day)
    return run


def top_up_missed_sentence(*, drug: str, missed_days: int, missed_since: date) -> str:
    return (
        f"No top-up: {missed_days} consecutive day{'s' if missed_days > 1 else ''} without the "
        f"{Drug(drug).label.lower()} top-up since {day_month(missed_since)}; prescriber review required"
    )


def _bridged_by_absence(later: date, earlier: date, away) -> bool:
    return all(earlier + timedelta(days=offset) in away for offset in range(1, (later - earlier).days))


# --- S8: prescription and consent ---------------------------------------------------------------------


def check_treatment_consent(*, has_consent: bool, for_what: str = "dose") -> None:
    if not has_consent:
        raise RuleViolation("S8", f"No {for_what}: the patient has no live treatment consent")


def check_prescription_for_dose(*, prescription, drug: str, day: date, session: str, route: str) -> None:
    """S8: an active, prescriber-signed prescription for this drug, route and date."""
    label = Drug(drug).label.lower()
    if prescription is None or not prescription.is_live or not prescription.covers(day) or not prescription.signed_at:
        raise RuleViolation("S8", f"No dose: there is no active, signed prescription for {label} on {day_month(day)}")
    if prescription.supply != Supply.SUPERVISED and is_injectable(drug):
        raise RuleViolation("S8", f"{Drug(drug).label} is never supplied to take home")
    check_route_as_prescribed(prescribed_route=prescription.route, route=route)
    if prescription.dose_for(session) is None:
        raise RuleViolation("S8", f"The prescription has no {Session(session).label.lower()} dose")


def check_injection_site(*, injectable: bool, injection_site: str) -> None:
    """An injection given is recorded with where it was given (the dose, its correction, the form)."""
    if injectable and not injection_site:
        raise ValidationError({"injection_site": "Record the injection site."})


def check_route_as_prescribed(*, prescribed_route: str, route: str) -> None:
    """S8: the dose goes by the prescription's route."""
    if route not in Route.values:
        raise RuleViolation("S8", "Choose the route", field="route")
    if route != prescribed_route:
        raise RuleViolation(
            "S8",
            f"The prescription is for {Route(prescribed_route).label.lower()} use, not {Route(route).label.lower()}",
            field="route",
        )


# --- S9: witness --------------------------------------------------------------------------------------------


WITNESS_NOT_OF_THIS_CLINIC = "The witness must be an active member of staff of this clinic who records doses"


def refuse_unknown_witness(*, field: str = "witness") -> None:
    """S9: a witness named who is not staff of this clinic (another clinic's, or no one) is refused as such."""
    raise RuleViolation("S9", WITNESS_NOT_OF_THIS_CLINIC, field=field)


def check_witness(
    *, nurse, witness, witness_may_witness: bool, password_correct: bool, password_given: bool = True
) -> None:
    if witness is None:
        raise RuleViolation("S9", "Every dose needs a witness", field="witness")
    if witness.pk == nurse.pk:
        raise RuleViolation("S9", "The witness must be another member of staff", field="witness")
    if not witness_may_witness:
        raise RuleViolation("S9", WITNESS_NOT_OF_THIS_CLINIC, field="witness")
    if not password_given:
        raise RuleViolation("S9", "The witness types their own PIN (or password)", field="witness_password")
    if not password_correct:
        raise RuleViolation("S9", "The witness's PIN (or password) is not correct", field="witness_password")


# --- S10: corrections ----------------------------------------------------------------------------------------

# S10: a corrected time stays within the slot's day and its session window, give or take this much
# (a dose recorded late, a clock a few minutes out). Dose-time reads rely on it (doses._recent_doses).
CORRECTION_TOLERANCE = timedelta(minutes=30)


def check_correction_time(*, given_at: datetime, slot, zone) -> None:
    """S10: a corrected time stays within the slot's day and its window, give or take CORRECTION_TOLERANCE."""
    earliest, latest = slot.window_start - CORRECTION_TOLERANCE, slot.window_end + CORRECTION_TOLERANCE
    if not (earliest <= given_at <= latest) or given_at.astimezone(zone).date() != slot.date:
        raise RuleViolation(
            "S10",
            f"The corrected time must be within the {Session(slot.session).label.lower()} window of "
            f"{day_month(slot.date)} ({hhmm(slot.window_start, zone)}-{hhmm(slot.window_end, zone)}), give or take "
            f"{duration(CORRECTION_TOLERANCE)}",
            field="given_at",
        )


def check_corrected_interval(*, given_at: datetime, other_doses_at: list[datetime], settings, zone) -> None:
    """S3 for a corrected time: at least the minimum interval from every other injectable dose, before or after."""
    for other in sorted(other_doses_at, key=lambda at: abs(at - given_at)):
        if abs(other - given_at) < settings.minimum_interval:
            raise RuleViolation(
                "S3",
                f"A dose at {hhmm(given_at, zone)} would be {duration(abs(other - given_at))} from the dose at "
                f"{hhmm(other, zone)}; the minimum interval is {duration(settings.minimum_interval)}",
                field="given_at",
            )


def check_correction(*, already_corrected: bool, reason: str, dose_mg: Decimal) -> None:
    if not (reason or "").strip():
        raise RuleViolation("S10", "A correction needs a reason", field="reason")
    if already_corrected:
        raise RuleViolation("S10", "This entry has already been corrected; correct the latest entry instead")
    if dose_mg is None or dose_mg < 0:
        raise RuleViolation("S10", "The corrected dose is 0 mg or more (0 when no dose was given)", field="dose_mg")


# --- S12: adverse events --------------------------------------------------------------------------------------


def check_adverse_event(*, kind: str, naloxone_dose_mg, naloxone_given_at, occurred_at, administration, now) -> None:
    if kind not in AdverseEventKind.values:
        raise RuleViolation("S12", "Choose the kind of adverse event", field="kind")
    if kind == AdverseEventKind.NALOXONE:
        if naloxone_dose_mg is None or naloxone_dose_mg <= 0:
            raise RuleViolation("S12", "Naloxone given: record the naloxone dose", field="naloxone_dose_mg")
        if naloxone_given_at is None:
            raise RuleViolation("S12", "Naloxone given: record the time it was given", field="naloxone_given_at")
    if occurred_at > now:
        raise RuleViolation("S12", "An adverse event cannot be in the future", field="occurred_at")
    if occurred_at < administration.given_at - timedelta(minutes=5):
        raise RuleViolation(
            "S12", "The adverse event is recorded against a dose; it cannot be before it", field="occurred_at"
        )


# --- S13: dosing only inside an open treatment episode ---------------------------------------------------------


def check_open_episode(
    *, open_since: date | None, day: date, last_ended_on: date | None = None, last_reason: str = "", for_what="dose"
) -> None:
    """S13: no dose, pre-dose check or slot outside an open treatment episode.

    `open_since` is the start of the patient's open episode (None: discharged); `last_ended_on` and
    `last_reason` describe the last episode that ended, for the sentence.
    """
    if open_since is None:
        if last_ended_on is not None:
            why = f" ({last_reason})" if last_reason else ""
            raise RuleViolation(
                "S13",
                f"No {for_what}: the treatment episode ended on {day_month(last_ended_on)}{why}; "
                "re-admit the patient and write a new prescription first",
            )
        raise RuleViolation("S13", f"No {for_what}: the patient has no open treatment episode")
    if day < open_since:
        raise RuleViolation(
            "S13", f"No {for_what}: the treatment episode starts on {day_month(open_since)}, after {day_month(day)}"
        )


def check_no_dose_after_discharge(*, last_dosed_day: date | None, ended_on: date) -> None:
    """S13: an episode cannot be ended before a dose already recorded in it (the dose would be outside it)."""
    if last_dosed_day is not None and last_dosed_day > ended_on:
        raise RuleViolation(
            "S13",
            f"The discharge date cannot be before the last dose given, on {day_month(last_dosed_day)}",
            field="ended_on",
        )


# --- S7: planned absences -------------------------------------------------------------------------------------------


def check_absence_dates(*, starts_on: date, ends_on: date, today: date, max_days: int, overlaps=None) -> None:
    """A planned absence starts today or later (it never excuses days already missed) and ends after it starts."""
    if starts_on is None:
        raise RuleViolation("S7", "Give the first day away", field="starts_on")
    if ends_on is None:
        raise RuleViolation("S7", "Give the last day away", field="ends_on")
    if starts_on < today:
        raise RuleViolation(
            "S7",
            f"A planned absence starts today ({day_month(today)}) or later; days already missed count as missed",
            field="starts_on",
        )
    if ends_on < starts_on:
        raise RuleViolation("S7", "The last day away cannot be before the first", field="ends_on")
    if (ends_on - starts_on).days + 1 > max_days:
        raise RuleViolation("S7", f"A planned absence lasts at most {max_days} days", field="ends_on")
    if overlaps is not None:
        raise RuleViolation(
            "S7",
            f"The patient is already away from {day_month(overlaps.starts_on)} to {day_month(overlaps.ends_on)} "
            f"({overlaps.get_reason_display().lower()})",
            field="starts_on",
        )


def absence_sentence(*, days: int, reason: str, starts_on: date, ends_on: date) -> str:
    return (
        f"No dose: back after {days} days away ({reason}, {day_month(starts_on)} to {day_month(ends_on)}); "
        "prescriber review required"
    )


# --- Per-clinic settings (SPEC 4 numbers, SPEC 8 operations) ------------------------------------------------

SETTINGS_FIELDS = (
    *("morning_start", "morning_end", "afternoon_start", "afternoon_end", "evening_start", "evening_end"),
    *("sessions_per_day", "observation_minutes", "minimum_interval_minutes"),
    *("missed_days_threshold", "missed_days_threshold_titration"),
    *("max_daily_diamorphine_mg", "max_daily_hydromorphone_mg", "breath_alcohol_limit_ug"),
    *("max_daily_methadone_mg", "max_daily_morphine_sr_mg"),
)


def setting_text(value) -> str:
    """A setting as people write it: 08:30, 15, 1000."""
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


# (field, rule, lowest, highest, what it is): the bounds the SPEC sets; a clinic may be stricter, never looser.
SETTING_BOUNDS = (
    ("sessions_per_day", "S2", 1, 3, "Sessions a day"),
    ("observation_minutes", "S6", 10, 30, "The observation after a dose (minutes)"),
    ("minimum_interval_minutes", "S3", 60, 720, "The minimum time between injectable doses (minutes)"),
    ("missed_days_threshold", "S7", 1, 14, "The missed days before a hold"),
    ("missed_days_threshold_titration", "S7", 1, 14, "The missed days before a hold during titration"),
    ("max_daily_diamorphine_mg", "S4", 1, 1000, "The daily maximum of diamorphine (mg)"),
    ("max_daily_hydromorphone_mg", "S4", 1, 500, "The daily maximum of hydromorphone (mg)"),
    ("breath_alcohol_limit_ug", "S5", 0, 35, "The breath alcohol limit (µg/100 ml)"),
    ("max_daily_methadone_mg", "S4", 1, 150, "The daily maximum of oral methadone (mg)"),
    ("max_daily_morphine_sr_mg", "S4", 1, 1200, "The daily maximum of slow-release oral morphine (mg)"),
)


def check_dosing_settings(values: dict) -> None:
    """The clinic's numbers stay within the SPEC's bounds, and its session windows in order without overlap."""
    for field, rule, lowest, highest, what in SETTING_BOUNDS:
        value = values.get(field)
        if value is None or not (lowest <= value <= highest):
            shown = "empty" if value is None else f"{Decimal(value).normalize():f}"
            raise RuleViolation(rule, f"{what} is {lowest} to {highest}; {shown} is outside", field=field)
    previous_end, previous = None, None
    for session in Session.values[: values["sessions_per_day"]]:
        start, end = values.get(f"{session}_start"), values.get(f"{session}_end")
        label = Session(session).label
        if start is None or end is None:
            raise RuleViolation("S2", f"Give the {label.lower()} window", field=f"{session}_start")
        if start >= end:
            raise RuleViolation(
                "S2",
                f"The {label.lower()} window must start before it ends ({start:%H:%M}-{end:%H:%M})",
                field=f"{session}_end",
            )
        if previous_end is not None and start < previous_end:
            raise RuleViolation(
                "S2",
                f"The {previous.lower()} window ends at {previous_end:%H:%M}, after the {label.lower()} window "
                f"starts at {start:%H:%M}; sessions may not overlap",
                field=f"{previous.lower()}_end",
            )
        previous_end, previous = end, label


# --- S14: Home Office licence -------------------------------------------------------------------------------------


def licence_sentence(*, prescriber, day: date, lapsed_on: date | None) -> str:
    lapsed = f" (it ended on {day_month(lapsed_on)})" if lapsed_on else ""
    return (
        f"{staff_name(prescriber)} holds no valid Home Office licence for this clinic on {day_month(day)}{lapsed}; "
        "diamorphine for addiction needs one"
    )


def check_prescriber_licence(*, drug: str, prescriber, licensed: bool, day: date, lapsed_on=None, dose=False) -> None:
    """S14: diamorphine (dipipanone, cocaine) for addiction only by a prescriber licensed for this clinic."""
    if drug not in LICENSED_DRUGS or licensed:
        return
    sentence = licence_sentence(prescriber=prescriber, day=day, lapsed_on=lapsed_on)
    if dose:
        raise RuleViolation("S14", f"No dose: the prescription is by {sentence}; a prescriber must review it")
    raise RuleViolation("S14", sentence)


def check_licence_dates(*, valid_from: date | None, valid_to: date | None, number: str) -> None:
    if not (number or "").strip():
        raise RuleViolation("S14", "Give the licence number", field="number")
    if valid_from is None:
        raise RuleViolation("S14", "Give the first day the licence is valid", field="valid_from")
    if valid_to is None:
        raise RuleViolation("S14", "Give the last day the licence is valid", field="valid_to")
    if valid_to < valid_from:
        raise RuleViolation(
            "S14",
            f"The licence cannot end ({day_month(valid_to)}) before it starts ({day_month(valid_from)})",
            field="valid_to",
        )


# --- Oral top-up beside the injectable (S2) ------------------------------------------------------------------------


def check_top_up_once_daily(*, oral_doses: dict) -> None:
    """S2: an oral top-up beside the injectable is given once a day, in one session: one session's dose."""
    given = [session for session, dose in oral_doses.items() if dose is not None]
    if len(given) > 1:
        raise RuleViolation(
            "S2",
            "An oral top-up beside the injectable is given once a day: prescribe one session's dose",
            field=f"{given[1]}_dose_mg",
        )
