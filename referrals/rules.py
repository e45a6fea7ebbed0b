"""Eligibility for heroin-assisted treatment (SPEC 3.2): the one place these criteria are checked.

Each criterion answers met, not met or unknown with one plain sentence that says why, so
the keyworker, the prescriber and the API client all see the same reasoning. A criterion
that is not met or not known can only be passed over by a prescriber with a written reason
(see services.referral_accept).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import models

from .models import (
    EligibilityCriteria,
    PreviousTreatmentEpisode,
    Referral,
    days_in_last_three_months,
)


class Outcome(models.TextChoices):
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met"
    UNKNOWN = "unknown", "Unknown"


@dataclass(frozen=True)
class CriterionResult:
    key: str
    label: str
    outcome: Outcome
    reason: str

    @property
    def passed(self) -> bool:
        return self.outcome == Outcome.MET


@dataclass(frozen=True)
class Assessment:
    on: date
    results: tuple[CriterionResult, ...]

    @property
    def eligible(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def needs_override(self) -> tuple[CriterionResult, ...]:
        """The criteria a prescriber must pass over, with a written reason, to accept."""
        return tuple(result for result in self.results if not result.passed)


def _d(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def age_on(date_of_birth: date, on: date) -> int:
    return on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))


def check_age(referral: Referral, criteria: EligibilityCriteria, on: date) -> CriterionResult:
    label = "Age"
    if referral.date_of_birth is None:
        return CriterionResult("age", label, Outcome.UNKNOWN, "Date of birth not recorded.")
    age = age_on(referral.date_of_birth, on)
    outcome = Outcome.MET if age >= criteria.min_age else Outcome.NOT_MET
    reason = f"Age {age} on {_d(on)}; this clinic requires {criteria.min_age} or over."
    return CriterionResult("age", label, outcome, reason)


def check_dependence(referral: Referral, criteria: EligibilityCriteria) -> CriterionResult:
    label = "Years of opioid dependence"
    needed = f"this clinic requires {criteria.min_years_dependence} or more."
    years = referral.years_dependent
    if years is None:
        return CriterionResult("dependence", label, Outcome.UNKNOWN, f"Years of dependence not recorded; {needed}")
    outcome = Outcome.MET if years >= criteria.min_years_dependence else Outcome.NOT_MET
    return CriterionResult("dependence", label, outcome, f"{_plural(years, 'year')} of opioid dependence; {needed}")


def check_oral_treatment(
    referral: Referral, criteria: EligibilityCriteria, episodes: Iterable[PreviousTreatmentEpisode]
) -> CriterionResult:
    """Enough failed oral treatment episodes, or (RIOTT) long enough in oral treatment while still injecting."""
    label = "Oral treatment has not worked"
    failed = sum(1 for episode in episodes if episode.failed)
    episodes_needed = criteria.min_failed_oral_episodes
    first = f"{_plural(failed, 'failed oral treatment episode')} recorded; this clinic requires {episodes_needed}"
    if failed >= episodes_needed:
        return CriterionResult("oral_treatment", label, Outcome.MET, f"{first} or more.")

    months, days = referral.months_in_oral_treatment, referral.injecting_days_last_3_months
    months_needed, share_needed = criteria.min_months_in_oral_treatment, criteria.min_injecting_share
    route = f"or {months_needed} months in oral treatment while injecting on {share_needed}% of days"
    if months is None or days is None:
        missing = " and ".join(
            name for name, value in (("months in oral treatment", months), ("injecting days", days)) if value is None
        )
        return CriterionResult("oral_treatment", label, Outcome.UNKNOWN, f"{first} {route}; {missing} not recorded.")

    period = days_in_last_three_months(referral.received_on)
    share = round(100 * days / period)
    # Compare in whole days, not the rounded percentage: 46 of 92 days is exactly 50%.
    injecting_enough = days * 100 >= share_needed * period
    found = f"{_plural(months, 'month')} in oral treatment, injecting on {days} of {period} days ({share}%)"
    if months >= months_needed and injecting_enough:
        return CriterionResult("oral_treatment", label, Outcome.MET, f"{found}; this clinic requires {route[3:]}.")
    return CriterionResult("oral_treatment", label, Outcome.NOT_MET, f"{first} {route}; {found}.")


def check_exclusions(referral: Referral) -> CriterionResult:
    label = "No exclusion"
    recorded = [
        name
        for name, value in (
            ("pregnancy", referral.pregnant),
            ("a contraindicating condition", referral.contraindication),
        )
        if value
    ]
    if recorded:
        reason = f"Exclusion recorded: {' and '.join(recorded)}; a prescriber may override it with a written reason."
        return CriterionResult("exclusions", label, Outcome.NOT_MET, reason)
    not_asked = [
        name
        for name, value in (
            ("pregnancy", referral.pregnant),
            ("contraindicating conditions", referral.contraindication),
        )
        if value is None
    ]
    if not_asked:
        return CriterionResult("exclusions", label, Outcome.UNKNOWN, f"Not yet asked about {' or '.join(not_asked)}.")
    return CriterionResult("exclusions", label, Outcome.MET, "No pregnancy or contraindicating condition recorded.")


def assess(
    referral: Referral,
    criteria: EligibilityCriteria,
    *,
    on: date,
    episodes: Iterable[PreviousTreatmentEpisode] | None = None,
) -> Assessment:
    """Assess `referral` against `criteria` on the date `on` (the decision date, or today while open)."""
    if episodes is None:
        episodes = list(referral.previous_episodes.all()) if referral.pk else []
    return Assessment(
        on=on,
        results=(
            check_age(referral, criteria, on),
            check_dependence(referral, criteria),
            check_oral_treatment(referral, criteria, episodes),
            check_exclusions(referral),
        ),
    )


# --- Onward referrals: working days and the transitions allowed ---------------------------


def add_working_days(day: date, count: int, *, is_working_day=lambda day: day.weekday() < 5) -> date:
    """The date `count` working days after `day`: Friday + 2 is Tuesday (Wednesday after a bank holiday Monday).

    `is_working_day` is the clinic's calendar (`Clinic.is_working_day`); by default Monday to Friday.
    """
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day
