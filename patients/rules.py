"""Rules about patient records, each in one place: the forms, the API and the services all call these.

Every check returns or raises messages that name the field, because a keyworker reads them
next to the input and an API client shows them next to its own.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError

from .models import OutcomeInterview

# Registration: people in treatment are adults, but some services take 16-17 year olds; above
# 100 is almost always a typing mistake (a year 19xx typed as 18xx, say).
MIN_AGE_AT_REGISTRATION = 16
MAX_AGE_AT_REGISTRATION = 100

# SPEC 3.6: a TOP interview at the start of treatment and at least every 3 months after.
TOP_INTERVAL = timedelta(days=91)
# An interview shows as "due" this long before its deadline, so it can be booked.
TOP_DUE_WINDOW = timedelta(days=14)

TOP_DAY_MAX = 28
TOP_RATING_MAX = 20


def age_on(date_of_birth: date, on: date) -> int:
    return on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))


def check_date_of_birth(date_of_birth: date | None, *, on: date) -> None:
    """Date of birth not in the future and giving an age of 16 to 100 on `on` (the registration date)."""
    if date_of_birth is None:
        raise ValidationError({"date_of_birth": "Date of birth is required."})
    if date_of_birth > on:
        raise ValidationError({"date_of_birth": "Date of birth cannot be in the future; please check it."})
    age = age_on(date_of_birth, on)
    if not MIN_AGE_AT_REGISTRATION <= age <= MAX_AGE_AT_REGISTRATION:
        raise ValidationError(
            {
                "date_of_birth": (
                    f"Date of birth gives an age of {age}; patients are {MIN_AGE_AT_REGISTRATION} to "
                    f"{MAX_AGE_AT_REGISTRATION} years old at registration. Please check the year."
                )
            }
        )


def top_field_label(name: str) -> str:
    label = str(OutcomeInterview._meta.get_field(name).verbose_name)
    return label[0].upper() + label[1:]


def top_bound_message(name: str) -> str:
    label = top_field_label(name)
    if name in OutcomeInterview.RATING_FIELDS:
        return f"{label} is a rating from 0 to {TOP_RATING_MAX}."
    return f"{label} is a number of days in the last 28 days: from 0 to {TOP_DAY_MAX}."


def top_bounds(name: str) -> tuple[int, int]:
    return (0, TOP_RATING_MAX) if name in OutcomeInterview.RATING_FIELDS else (0, TOP_DAY_MAX)


def check_top_values(values: dict) -> None:
    """SPEC 3.6 bounds: day counts 0-28, ratings 0-20; every count, rating and yes/no item answered."""
    errors = {}
    for name in (*OutcomeInterview.DAY_FIELDS, *OutcomeInterview.RATING_FIELDS):
        value = values.get(name)
        low, high = top_bounds(name)
        if value is None or value == "":
            errors[name] = f"{top_field_label(name)} is required."
        elif isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[name] = top_bound_message(name)
    for name in TOP_YES_NO_FIELDS:
        if not isinstance(values.get(name), bool):
            errors[name] = f"{top_field_label(name)}: answer yes or no."
    if errors:
        raise ValidationError(errors)


TOP_YES_NO_FIELDS = ("shared_equipment", "other_theft", "assault", "acute_housing_problem", "at_risk_of_eviction")


@dataclass(frozen=True)
class TopSchedule:
    deadline: date
    is_start_interview: bool
    is_due: bool
    is_overdue: bool


def top_schedule(*, episode_started_on: date, last_interview_on: date | None, today: date) -> TopSchedule:
    """When the next TOP interview is needed: the deadline is the last interview (or the episode start) + 91 days.

    It is due at once when the episode has none yet (the start interview), or within 14 days of the
    deadline; it is overdue once the deadline has passed.
    """
    base = last_interview_on or episode_started_on
    deadline = base + TOP_INTERVAL
    is_start = last_interview_on is None
    overdue = today > deadline
    return TopSchedule(
        deadline=deadline,
        is_start_interview=is_start,
        is_due=overdue or is_start or today >= deadline - TOP_DUE_WINDOW,
        is_overdue=overdue,
    )
