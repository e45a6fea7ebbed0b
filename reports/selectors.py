"""Commissioner statistics (SPEC 7): raw numbers, before small-number suppression.

`statistics()` is the one read behind the dashboard, the CSV and the API; `reports.suppression`
turns its result into what may be shown. Dosing figures come from the summary tables (millions
of slots and administrations; whole months from the monthly ones), TOP outcomes from the
summary of follow-up interviews (pairing each with its episode's first is the costly part);
episodes and referrals are small tables (thousands of rows) and are aggregated directly.

Every date is a clinic-local date: a slot's `date`, an episode's start and end, an interview's
date, a referral's date received. Periods are calendar weeks (Monday to Sunday), months or
quarters, clipped to the chosen range, so a clock change never moves a record between periods.
"""

import calendar
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncMonth, TruncQuarter, TruncWeek
from django.utils import timezone

from clinics.parsing import parse_int
from clinics.selectors import clinics_for
from dosing.models import Drug
from hat_clinic.precompiled import STAND_IN_DAY, STAND_IN_IDS, STAND_IN_MOMENT, STAND_IN_OTHER_DAY, AnyOf, Precompiled
from onward.models import OnwardReferral, OnwardStatus
from patients.models import DischargeReason, Episode
from referrals.models import Referral, ReferralSource, ReferralStatus

from .models import (
    DailyDoseStats,
    DailySessionStats,
    MonthlyDoseStats,
    MonthlyOutcomeStats,
    MonthlySessionStats,
    OutcomeFollowUp,
)


class Granularity:
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    CHOICES = (("week", "Week"), ("month", "Month"), ("quarter", "Quarter"))
    VALUES = ("week", "month", "quarter")


RETENTION_MONTHS = (3, 6, 12)
# The longest range one request may ask for: 10 years of weeks is already 520 rows per table.
MAX_RANGE_DAYS = 366 * 10


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    label: str


@dataclass
class DosingFigures:
    slots: int = 0
    open: int = 0
    given: int = 0
    partial: int = 0
    withheld: int = 0
    refused: int = 0
    missed: int = 0
    cancelled: int = 0
    adverse_events: int = 0
    naloxone_uses: int = 0
    overdoses: int = 0
    # drug -> [total mg, patient-days]
    doses: dict = field(default_factory=dict)

    @property
    def scheduled(self) -> int:
        """Sessions scheduled: every slot except those cancelled (a stopped prescription, a dose struck out)."""
        return self.slots - self.cancelled

    @property
    def doses_given(self) -> int:
        return self.given + self.partial


@dataclass
class PatientFigures:
    in_treatment: int = 0
    new_starts: int = 0
    discharges: dict = field(default_factory=dict)  # reason -> count


@dataclass
class Cohort:
    period: Period
    started: int
    retained: dict  # months -> count, or None when the cohort has not reached it yet


@dataclass
class OutcomeFigures:
    """TOP, start vs latest, over the episodes with a follow-up interview (n of them)."""

    n: int = 0
    sums: dict = field(default_factory=dict)  # measure -> [start total, latest total]


@dataclass
class ReferralFigures:
    by_source: dict = field(default_factory=dict)
    started: int = 0

    @property
    def received(self) -> int:
        return sum(self.by_source.values())


@dataclass
class Statistics:
    clinics: list
    start: date
    end: date
    granularity: str
    as_of: date
    periods: list
    dosing: list  # per period
    dosing_total: DosingFigures
    dosing_by_clinic: list  # (clinic, DosingFigures)
    patients: list
    patients_total: PatientFigures
    cohorts: list
    # None, as the fields of onward referrals, when read without detail (statistics(detail=False), DETAIL).
    outcomes: list | None
    outcomes_total: OutcomeFigures | None
    referrals: list | None
    referrals_total: ReferralFigures | None
    drugs: list
    onward: list | None = field(default_factory=list)  # per period: partner kind -> referrals sent
    onward_by_kind: dict | None = field(
        default_factory=dict
    )  # partner kind -> Counter(sent, open, cancelled, outcomes)
    # The paired TOP change of the range (issue 15): measure -> PairedChange, each episode's first interview
    # against its latest review in the range (whatever became of the episode since).
    top_change: dict = field(default_factory=dict)
    # The episodes the figures were made from (Episodes), kept for the headline figures (reports.outcomes): read
    # once for both. Raw records: never presented as they are.
    episodes: "Episodes | None" = None


# Numeric TOP measures: mean days (0-28) or rating (0-20); flags: how many said yes.
TOP_MEANS = {
    "heroin_days": "Days of street heroin use (of 28)",
    "crime_days": "Days shoplifting or selling drugs (of 28)",
    "psychological_health": "Psychological health (0-20)",
    "physical_health": "Physical health (0-20)",
    "quality_of_life": "Quality of life (0-20)",
    "paid_work_days": "Days in paid work (of 28)",
}
TOP_FLAGS = {
    "any_crime": "Committed any crime",
    "housing_problem": "Housing problem (acute or at risk of eviction)",
    "in_work_or_education": "Any paid work or education",
}


# TOP measures compared entry against latest review (issue 15): (label, kind, a fall is an improvement).
# kind "days" (of the last 28), "score" (0-20) or "flag" (how many said yes).
TOP_CHANGE = {
    "heroin_days": ("Days of street heroin use", "days", True),
    "other_opiate_days": ("Days of other opiate use", "days", True),
    "crack_days": ("Days of crack use", "days", True),
    "injected_days": ("Days injected", "days", True),
    "shoplifting_days": ("Days shoplifting", "days", True),
    "selling_drugs_days": ("Days selling drugs", "days", True),
    "other_theft": ("Committed other theft", "flag", True),
    "assault": ("Committed assault or violence", "flag", True),
    "housing_problem": ("Housing problem", "flag", True),
    "in_work_or_education": ("In paid work or training", "flag", False),
    "physical_health": ("Physical health (0-20)", "score", False),
    "psychological_health": ("Psychological health (0-20)", "score", False),
}


@dataclass
class PairedChange:
    """One TOP measure over n people: sums at entry and at the latest review, and how many improved or worsened."""

    n: int = 0
    entry: int = 0
    latest: int = 0
    improved: int = 0
    worse: int = 0

    @property
    def same(self) -> int:
        return self.n - self.improved - self.worse


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    if day.day <= 28:  # every month has the day: skip the calendar (called for every episode and milestone)
        return date(year, month, day.day)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_start(day: date, granularity: str) -> date:
    """The first day of the calendar week (Monday), month or quarter of `day`."""
    if granularity == Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity == Granularity.MONTH:
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def periods(start: date, end: date, granularity: str) -> list[Period]:
    """The calendar periods between `start` and `end` (inclusive), clipped to them."""
    result = []
    bucket = period_start(start, granularity)
    while bucket <= end:
        if granularity == Granularity.WEEK:
            following = bucket + timedelta(days=7)
            label = f"Week of {bucket:%d %b %Y}"
        elif granularity == Granularity.MONTH:
            following = add_months(bucket, 1)
            label = f"{bucket:%b %Y}"
        else:
            following = add_months(bucket, 3)
            label = f"Q{(bucket.month - 1) // 3 + 1} {bucket.year}"
        first, last = max(bucket, start), min(following - timedelta(days=1), end)
        if (first, last) != (bucket, following - timedelta(days=1)):
            label += f" ({first:%d %b} to {last:%d %b})"
        result.append(Period(first, last, label))
        bucket = following
    return result


def parse_filters(user, *, clinic=None, start=None, end=None, granularity=None, today: date | None = None):
    """Check the filters of a request (strings or None). Returns (clinics, start, end, granularity).

    Raises ValidationError naming the field for bad input, and Clinic.DoesNotExist for a clinic the
    user does not cover (the caller answers 404: another clinic is never found).
    """
    today = today or timezone.localdate()
    errors = {}
    granularity = granularity or Granularity.MONTH
    if granularity not in Granularity.VALUES:
        errors["granularity"] = f"Choose week, month or quarter (not {granularity[:20]!r})."

    def as_date(name, value, default):
        if value in (None, ""):
            return default
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            errors[name] = "Enter a date as YYYY-MM-DD."
            return None

    end_date = as_date("end", end, today)
    start_date = as_date("start", start, add_months(end_date or today, -12) + timedelta(days=1))
    if start_date and end_date:
        if end_date < start_date:
            errors["end"] = "The end date is before the start date."
        elif (end_date - start_date).days > MAX_RANGE_DAYS:
            errors["start"] = "Choose a range of at most 10 years."
    covered = clinics_for(user).order_by("name")
    if clinic not in (None, "", "all"):
        chosen = covered.get(pk=parse_int(clinic, name="clinic"))
        clinics = [chosen]
    else:
        clinics = list(covered)
    if errors:
        raise ValidationError(errors)
    return clinics, start_date, end_date, granularity


# --- The reads --------------------------------------------------------------------------------------------------
# Each is written by the ORM once per process (hat_clinic.precompiled), with the clinics as one array parameter
# and stand-ins for the dates, and run with each request's values: building and compiling a dozen querysets of
# aggregates cost more Python than PostgreSQL took to run them (issue 15: the dashboard's first view). So that
# one statement serves every range, a read of up to two date ranges is always given two: a part of the range a
# read does not need is an empty range (NO_DAYS). Rows are plain tuples in the order of values_list().

# Stand-ins for the dates of one read: distinct from each other and from every date in the records.
_DAY_1, _DAY_2, _DAY_3, _DAY_4 = (date(1901, 1, day) for day in range(1, 5))
_MOMENT_2 = datetime(1901, 2, 3, 4, 5, 7, tzinfo=UTC)
NO_DAYS = (date.max, date.min)  # BETWEEN the two: no day


def _read(build, **stand_ins) -> Precompiled:
    """A read of the statistics: an aggregate over a range, planned for its range on every call, never prepared
    (a prepared statement's plan made for any range took 25 ms where plans for the range took 20)."""
    return Precompiled(build, prepared=False, **stand_ins)


def _two_ranges(ranges: list[tuple[date, date]]) -> dict:
    """The non-empty ones of up to two (first, last) day ranges, as the parameters of a two-range read."""
    (first, last), (other_first, other_last) = [*[(a, b) for a, b in ranges if a <= b], NO_DAYS, NO_DAYS][:2]
    return {"first": first, "last": last, "other_first": other_first, "other_last": other_last}


def _index(period_starts: list[date], day: date) -> int:
    return bisect_right(period_starts, day) - 1


class _DayTrunc:
    """Truncation of a date column to its week, month or quarter, on PostgreSQL as a plain timestamp.

    Given a date, PostgreSQL picks DATE_TRUNC for a timestamp *with* time zone and converts every row
    through the session's time zone, for the same answer; the statistics truncate tens of thousands of
    summary rows per request, and a plain timestamp is measurably quicker.
    """

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"DATE_TRUNC(%s, ({sql})::timestamp)::date", (self.kind, *params)


class _TruncWeek(_DayTrunc, TruncWeek):
    pass


class _TruncMonth(_DayTrunc, TruncMonth):
    pass


class _TruncQuarter(_DayTrunc, TruncQuarter):
    pass


TRUNC = {Granularity.WEEK: _TruncWeek, Granularity.MONTH: _TruncMonth, Granularity.QUARTER: _TruncQuarter}


def _in_clinics(clinic_ids, column: str = "clinic_id") -> AnyOf:
    return AnyOf(F(column), clinic_ids)


SESSION_COLUMNS = (
    "slots",
    "open",
    "given",
    "partial",
    "withheld",
    "refused",
    "missed",
    "cancelled",
    "adverse_events",
    "naloxone_uses",
    "overdoses",
)


def _summary_reads(daily, monthly, fields: tuple, sums: dict) -> dict:
    """By granularity, the two reads of a session or dose summary summed by period (`bucket`) and `fields`, rows
    (bucket, *fields, *sums): whole calendar months from the monthly table (None by week), days from the daily one.
    """

    def reads(granularity):
        trunc = TRUNC[granularity]

        def by_month(*, clinic_ids, first, after):
            return (
                monthly.objects.filter(_in_clinics(clinic_ids), month__gte=first, month__lt=after)
                .annotate(bucket=trunc("month"))
                .values_list("bucket", *fields)
                .annotate(**sums)
                .order_by()
            )

        def by_day(*, clinic_ids, first, last, other_first, other_last):
            return (
                daily.objects.filter(_in_clinics(clinic_ids))
                .filter(Q(date__range=(first, last)) | Q(date__range=(other_first, other_last)))
                .annotate(bucket=trunc("date"))
                .values_list("bucket", *fields)
                .annotate(**sums)
                .order_by()
            )

        months = _read(by_month, clinic_ids=STAND_IN_IDS, first=_DAY_1, after=_DAY_2)
        days = _read(by_day, clinic_ids=STAND_IN_IDS, first=_DAY_1, last=_DAY_2, other_first=_DAY_3, other_last=_DAY_4)
        return (None if granularity == Granularity.WEEK else months), days

    return {granularity: reads(granularity) for granularity in Granularity.VALUES}


SESSION_READS = _summary_reads(
    DailySessionStats, MonthlySessionStats, ("clinic_id",), {column: Sum(column) for column in SESSION_COLUMNS}
)
DOSE_READS = _summary_reads(
    DailyDoseStats, MonthlyDoseStats, ("drug",), {"mg": Sum("total_mg"), "patient_days": Sum("patients_dosed")}
)


def summary_rows(reads: dict, clinic_ids, start: date, end: date, granularity: str) -> list[tuple]:
    """The rows of SESSION_READS or DOSE_READS over the range: (bucket, *fields, *sums).

    Months and quarters are made of whole calendar months: those inside the range are read from the monthly
    table; only the days of a month cut by the start or the end of the range from the daily one. Weeks are
    read from the daily table. A bucket of the first period may be before the start of the range (clipped).
    """
    by_month, by_day = reads[granularity]
    rows, days = [], [(start, end)]
    if by_month is not None:
        first = start if start.day == 1 else add_months(start.replace(day=1), 1)
        after = end + timedelta(days=1)
        after_whole = after if after.day == 1 else end.replace(day=1)  # the day after the last whole month
        if first < after_whole:
            rows = by_month.rows(clinic_ids=clinic_ids, first=first, after=after_whole)
            days = [(start, first - timedelta(days=1)), (after_whole, end)]
    if any(first_day <= last_day for first_day, last_day in days):
        rows += by_day.rows(clinic_ids=clinic_ids, **_two_ranges(days))
    return rows


def _sums(rows) -> list:
    """Column sums of equally long tuples of counts (SESSION_COLUMNS), zeros for none."""
    return [sum(column) for column in zip(*rows, strict=True)] if rows else [0] * len(SESSION_COLUMNS)


def _dosing(clinic_ids, start, end, grid, starts, granularity) -> tuple[list, DosingFigures, dict]:
    """From the summary tables: sessions by period and clinic (a few hundred rows, added up here both ways),
    and doses by period and drug."""
    by_period = [[] for _ in grid]
    by_clinic = defaultdict(list)
    first_start = starts[0]
    for row in summary_rows(SESSION_READS, clinic_ids, start, end, granularity):
        bucket, clinic_id, counts = row[0], row[1], row[2:]
        by_period[_index(starts, bucket if bucket > first_start else first_start)].append(counts)
        by_clinic[clinic_id].append(counts)

    def figures(counts):
        return DosingFigures(**dict(zip(SESSION_COLUMNS, counts, strict=True)))

    period_counts = [_sums(rows) for rows in by_period]
    per_period = [figures(counts) for counts in period_counts]
    total = figures(_sums(period_counts))
    by_clinic = {clinic_id: figures(_sums(rows)) for clinic_id, rows in by_clinic.items()}
    for bucket, drug, mg, patient_days in summary_rows(DOSE_READS, clinic_ids, start, end, granularity):
        i = _index(starts, bucket if bucket > first_start else first_start)
        for figures in (per_period[i], total):
            entry = figures.doses.setdefault(drug, [Decimal(0), 0])
            entry[0] += Decimal(mg)
            entry[1] += patient_days
    return per_period, total, by_clinic


def previous_range(start: date, end: date) -> tuple[date, date]:
    """The range of the same length that ends the day before `start` (the headline figures' comparison)."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def _episodes_of(*, clinic_ids, end, earliest):
    return (
        Episode.objects.filter(_in_clinics(clinic_ids), started_on__lte=end)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=earliest))
        .values_list("patient_id", "started_on", "ended_on", "discharge_reason", "clinic_id")
        .order_by("started_on")
    )


_EPISODES = _read(_episodes_of, clinic_ids=STAND_IN_IDS, end=_DAY_1, earliest=_DAY_2)


@dataclass
class Episodes:
    """The episodes of a report, by start date: `rows` (patient, started_on, ended_on, discharge reason, clinic),
    their start dates and clinics as lists of their own, and for each retention milestone whether each episode
    was still going then (1 or 0), worked out once for every cohort that is asked about (the periods' start
    cohorts, the headline figures' cohorts of the range, of the previous range and of each clinic)."""

    rows: list
    starts: list
    clinics: list
    still_in: dict  # months -> [1 or 0 per row]

    @classmethod
    def of(cls, rows: list) -> "Episodes":
        flags = [_still_in(started_on, ended_on) for _, started_on, ended_on, _, _ in rows]
        by_months = list(zip(*flags, strict=True)) if flags else [()] * len(RETENTION_MONTHS)
        return cls(
            rows=rows,
            starts=[row[1] for row in rows],
            clinics=[row[4] for row in rows],
            still_in=dict(zip(RETENTION_MONTHS, by_months, strict=True)),
        )

    def started(self, first: date, last: date) -> slice:
        """The rows of the episodes that started from `first` to `last` (a cohort)."""
        return slice(bisect_left(self.starts, first), bisect_right(self.starts, last))


def episodes(clinic_ids, start: date, end: date) -> Episodes:
    """Every episode the statistics and the headline figures need, by start date: open at any time from 12 months
    before the previous range (the retention cohorts of its first days) to the end of the range. Thousands of
    rows, read once per report."""
    earliest = add_months(previous_range(start, end)[0], -max(RETENTION_MONTHS))
    return Episodes.of(_EPISODES.rows(clinic_ids=clinic_ids, end=end, earliest=earliest))


def _stayed(started_on: date, ended_on: date, days: int, months: int) -> bool:
    """ended_on > add_months(started_on, months), `days` apart: N months are 28 to 31 days each, so the
    calendar is needed only near the milestone (called for every discharged member of every cohort)."""
    if days > 31 * months:
        return True
    if days <= 28 * months:
        return False
    return ended_on > add_months(started_on, months)


_IN_AT_EVERY_MILESTONE, _IN_AT_NO_MILESTONE = (1,) * len(RETENTION_MONTHS), (0,) * len(RETENTION_MONTHS)
_SHORTEST_MILESTONE_DAYS, _LONGEST_MILESTONE_DAYS = 28 * min(RETENTION_MONTHS), 31 * max(RETENTION_MONTHS)


def _still_in(started_on: date, ended_on: date | None) -> tuple:
    """1 or 0 at each retention milestone: in treatment on the day N months after the start (an episode
    discharged that day or before is not retained; an open one is)."""
    if ended_on is None:
        return _IN_AT_EVERY_MILESTONE
    days = (ended_on - started_on).days
    if days > _LONGEST_MILESTONE_DAYS:
        return _IN_AT_EVERY_MILESTONE
    if days <= _SHORTEST_MILESTONE_DAYS:
        return _IN_AT_NO_MILESTONE
    return tuple(int(_stayed(started_on, ended_on, days, months)) for months in RETENTION_MONTHS)


def _patients(episodes: Episodes, start, end, grid, starts, as_of) -> tuple[list, PatientFigures, list]:
    """Episodes (thousands of rows) in one pass of plain Python: local names and counters, one sort."""
    per_period = [PatientFigures() for _ in grid]
    total = PatientFigures()
    last_period = len(grid) - 1
    spans = []  # (patient, first period index, last period index) of each episode
    total_discharges = total.discharges
    for patient_id, started_on, ended_on, reason, _ in episodes.rows:
        if ended_on is not None and ended_on < start:  # read for the headline figures' earlier cohorts only
            continue
        # Started before the range: in treatment from its first period.
        first = bisect_right(starts, started_on) - 1 if started_on >= start else 0
        if ended_on is None or ended_on > end:
            last = last_period
        else:  # discharged in the range
            last = bisect_right(starts, ended_on) - 1
            discharges = per_period[last].discharges
            discharges[reason] = discharges.get(reason, 0) + 1
            total_discharges[reason] = total_discharges.get(reason, 0) + 1
        spans.append((patient_id, first, last))
    # In treatment at any time in the period: each patient once, however many episodes (a difference array
    # over the patient's merged spans of periods; sorted, each patient's spans are together and in order).
    change = [0] * (len(grid) + 1)
    spans.sort()
    patients = 0
    current = None
    for patient_id, next_first, next_last in spans:
        if patient_id == current and next_first <= last:
            if next_last > last:
                last = next_last
            continue
        if current is not None:
            change[first] += 1
            change[last + 1] -= 1
        if patient_id != current:
            patients += 1
            current = patient_id
        first, last = next_first, next_last
    if current is not None:
        change[first] += 1
        change[last + 1] -= 1
    running = 0
    for i, figures in enumerate(per_period):
        running += change[i]
        figures.in_treatment = running
    total.in_treatment = patients

    # Each period's start cohort: its new starts, the episodes that started in it (a run of the rows by start).
    result = []
    for figures, period in zip(per_period, grid, strict=True):
        cohort = episodes.started(period.start, period.end)
        figures.new_starts = cohort.stop - cohort.start
        retained = {}
        for months in RETENTION_MONTHS:
            # Only once every member of the cohort has reached the milestone (no half-grown cohorts).
            reached = add_months(period.end, months) <= as_of
            retained[months] = sum(episodes.still_in[months][cohort]) if reached else None
        result.append(Cohort(period=period, started=figures.new_starts, retained=retained))
    total.new_starts = sum(figures.new_starts for figures in per_period)
    return per_period, total, result


# The measures of the TOP figures by period and of the range (the means and flags shown): summed over every row.
SHOWN_MEASURES = (*TOP_MEANS, *TOP_FLAGS)
_SHOWN = (*SHOWN_MEASURES, *(f"start_{name}" for name in SHOWN_MEASURES))  # rows (bucket, n, *_SHOWN)


def _outcome_figures(n: int, sums: dict) -> OutcomeFigures:
    if not n:
        return OutcomeFigures()
    return OutcomeFigures(n=n, sums={name: [sums[f"start_{name}"], sums[name]] for name in SHOWN_MEASURES})


def _direction(name: str, lower_is_better: bool) -> tuple[Q, Q]:
    fell, rose = Q(**{f"{name}__lt": F(f"start_{name}")}), Q(**{f"{name}__gt": F(f"start_{name}")})
    return (fell, rose) if lower_is_better else (rose, fell)


def _whole_months(start: date, end: date, granularity: str) -> tuple[date, date] | None:
    """The calendar months [first, after) inside the range whose TOP figures by period can be read pre-summed, or None.

    A follow-up is the latest of its episode in a period when the next one is in a later period (`latest_of_*`),
    true of every period of the grid but the last one when the range cuts it short: there the latest is the one
    whose next is after the range. So: whole months from the start of the range, up to the start of the last
    period when the range ends inside it. Weeks are not pre-summed.
    """
    if granularity == Granularity.WEEK:
        return None
    first = start if start.day == 1 else add_months(start.replace(day=1), 1)
    after = end + timedelta(days=1)
    after_whole = after if period_start(after, granularity) == after else period_start(end, granularity)
    return (first, after_whole) if first < after_whole else None


def _follow_ups(clinic_ids):
    return OutcomeFollowUp.objects.filter(_in_clinics(clinic_ids, "episode__clinic_id"))


def _latest_in_range(end) -> Q:
    """An episode's latest follow-up up to `end`: no next interview, or one after it."""
    return Q(next_interviewed_on__isnull=True) | Q(next_interviewed_on__gt=end)


def _open_at(start) -> Q:
    return Q(episode__ended_on__isnull=True) | Q(episode__ended_on__gte=start)


def _top_reads(granularity: str) -> tuple:
    """The reads of the TOP figures by period, rows (bucket, n, *_SHOWN): (pre-summed whole months, the rows of
    episodes that ended before the range among them, the follow-ups of up to two day ranges)."""
    bucket = TRUNC[granularity]("interviewed_on")
    latest_of_period = Q(**{f"latest_of_{granularity}": True})
    by_period = {"n": Count("id"), **{name: Sum(name) for name in _SHOWN}}

    def months(*, clinic_ids, first, after):
        return (
            MonthlyOutcomeStats.objects.filter(
                _in_clinics(clinic_ids), latest_of=granularity, month__gte=first, month__lt=after
            )
            .annotate(bucket=TRUNC[granularity]("month"))
            .values_list("bucket")
            .annotate(**{name: Sum(name) for name in ("n", *_SHOWN)})
            .order_by()
        )

    def ended_before(*, clinic_ids, start, first, after):
        return (
            _follow_ups(clinic_ids)
            .filter(latest_of_period, episode__ended_on__lt=start, interviewed_on__gte=first)
            .filter(interviewed_on__lt=after)
            .annotate(bucket=bucket)
            .values_list("bucket")
            .annotate(**by_period)
            .order_by()
        )

    def days(*, clinic_ids, start, end, first, last, other_first, other_last):
        return (
            _follow_ups(clinic_ids)
            .filter(Q(interviewed_on__range=(first, last)) | Q(interviewed_on__range=(other_first, other_last)))
            .filter(_open_at(start))
            .filter(latest_of_period | _latest_in_range(end))
            .annotate(bucket=bucket)
            .values_list("bucket")
            .annotate(**by_period)
            .order_by()
        )

    if granularity == Granularity.WEEK:
        whole = None
    else:
        whole = (
            _read(months, clinic_ids=STAND_IN_IDS, first=_DAY_1, after=_DAY_2),
            _read(ended_before, clinic_ids=STAND_IN_IDS, start=_DAY_3, first=_DAY_1, after=_DAY_2),
        )
    in_days = _read(
        days,
        clinic_ids=STAND_IN_IDS,
        start=STAND_IN_DAY,
        end=STAND_IN_OTHER_DAY,
        first=_DAY_1,
        last=_DAY_2,
        other_first=_DAY_3,
        other_last=_DAY_4,
    )
    return whole, in_days


_TOP_READS = {granularity: _top_reads(granularity) for granularity in Granularity.VALUES}


def _paired_sums() -> dict:
    # The comparisons first: once `heroin_days` names the sum, a later expression would read the sum, not the column.
    sums = {}
    for name, (_, _, lower_is_better) in TOP_CHANGE.items():
        better, worse = _direction(name, lower_is_better)
        sums[f"{name}__improved"] = Count("id", filter=better)
        sums[f"{name}__worse"] = Count("id", filter=worse)
    for name in TOP_CHANGE:
        if name not in SHOWN_MEASURES:
            sums[f"{name}__entry"] = Sum(f"start_{name}")
            sums[f"{name}__latest"] = Sum(name)
    sums["n"] = Count("id")  # and the measures shown, summed as by period
    sums.update({name: Sum(name) for name in _SHOWN})
    return sums


_PAIRED_SUMS = _paired_sums()
_PAIRED_COLUMNS = {name: index for index, name in enumerate(("current", *_PAIRED_SUMS))}


def _paired(*, clinic_ids, start, end):
    return (
        _follow_ups(clinic_ids)
        .filter(_latest_in_range(end), interviewed_on__range=(start, end))
        .annotate(current=ExpressionWrapper(_open_at(start), output_field=BooleanField()))
        .values_list("current")
        .annotate(**_PAIRED_SUMS)
        .order_by()
    )


_PAIRED = _read(_paired, clinic_ids=STAND_IN_IDS, start=_DAY_1, end=_DAY_2)


def _outcomes(clinic_ids, start, end, grid, starts, granularity, detail=True) -> tuple[list, OutcomeFigures, dict]:
    """Each episode's first interview (the start) against its latest follow-up in each period and in the range,
    and the paired TOP change of the range (how many improved or worsened on each measure).

    From the summaries of follow-up interviews (each row carries its episode's start), so nothing sorts every
    interview of every episode per request:
    - by period, the whole months of the range from their monthly sums (MonthlyOutcomeStats, a few hundred
      rows); the days of a month cut by the range, and of the last period when the range cuts it short, from
      the follow-ups themselves: the latest of an episode in a period is the row whose next interview is in a
      later period or after the range. The period figures count only episodes still open at the start of the
      range: the monthly sums count every episode, so the rows of episodes that ended before it (interviews
      dated after their episode ended, if any) are taken away again.
    - the range total and the paired change from each episode's latest follow-up of the range (at most one row
      per episode: no next interview, or one after the range), grouped by whether the episode was open at the
      start (the total counts those, the paired change every episode).
    """
    period_n = [0] * len(grid)
    period_sums = [[0] * len(_SHOWN) for _ in grid]
    first_start = starts[0]

    def add(rows, sign=1):
        for bucket, n, *sums in rows:
            i = _index(starts, bucket if bucket > first_start else first_start)
            period_n[i] += sign * n
            period_sums[i] = [total + sign * value for total, value in zip(period_sums[i], sums, strict=True)]

    whole_reads, in_days = _TOP_READS[granularity]
    whole = _whole_months(start, end, granularity) if detail else None
    days = [(start, end)] if detail else []
    if whole is not None:
        first, after = whole
        months, ended_before = whole_reads
        add(months.rows(clinic_ids=clinic_ids, first=first, after=after))
        add(ended_before.rows(clinic_ids=clinic_ids, start=start, first=first, after=after), sign=-1)
        days = [(start, first - timedelta(days=1)), (after, end)]
    if any(first_day <= last_day for first_day, last_day in days):
        add(in_days.rows(clinic_ids=clinic_ids, start=start, end=end, **_two_ranges(days)))

    column = _PAIRED_COLUMNS
    total_n, total_sums = 0, [0] * len(_SHOWN)
    paired = {name: PairedChange() for name in TOP_CHANGE}
    for row in _PAIRED.rows(clinic_ids=clinic_ids, start=start, end=end):
        n = row[column["n"]]
        for name, change in paired.items():
            change.n += n
            if name in SHOWN_MEASURES:
                change.entry += row[column[f"start_{name}"]]
                change.latest += row[column[name]]
            else:
                change.entry += row[column[f"{name}__entry"]]
                change.latest += row[column[f"{name}__latest"]]
            change.improved += row[column[f"{name}__improved"]]
            change.worse += row[column[f"{name}__worse"]]
        if row[column["current"]]:
            total_n += n
            total_sums = [total + row[column[name]] for total, name in zip(total_sums, _SHOWN, strict=True)]
    if not detail:  # the paired change alone (the dashboard's)
        return None, None, paired
    per_period = [
        _outcome_figures(n, dict(zip(_SHOWN, sums, strict=True))) for n, sums in zip(period_n, period_sums, strict=True)
    ]
    return per_period, _outcome_figures(total_n, dict(zip(_SHOWN, total_sums, strict=True))), paired


def _referrals_read(granularity: str) -> Precompiled:
    def referrals(*, clinic_ids, start, end):
        return (
            Referral.objects.filter(_in_clinics(clinic_ids), received_on__range=(start, end))
            .annotate(bucket=TRUNC[granularity]("received_on"))
            .values_list("bucket", "source")
            .annotate(n=Count("id"), started=Count("id", filter=Q(status=ReferralStatus.ACCEPTED)))
            .order_by()
        )

    return _read(referrals, clinic_ids=STAND_IN_IDS, start=_DAY_1, end=_DAY_2)


_REFERRALS = {granularity: _referrals_read(granularity) for granularity in Granularity.VALUES}


def _referrals(clinic_ids, start, end, grid, starts, granularity) -> tuple[list, ReferralFigures]:
    per_period = [ReferralFigures() for _ in grid]
    total = ReferralFigures()
    first_start = starts[0]
    for bucket, source, n, started in _REFERRALS[granularity].rows(clinic_ids=clinic_ids, start=start, end=end):
        i = _index(starts, bucket if bucket > first_start else first_start)
        for figures in (per_period[i], total):
            figures.by_source[source] = figures.by_source.get(source, 0) + n
            figures.started += started
    return per_period, total


ONWARD_OPEN = "open"
ONWARD_CANCELLED = "cancelled"


def _onward_of(*, clinic_ids, earliest, latest):
    return (
        OnwardReferral.objects.filter(_in_clinics(clinic_ids), created_at__range=(earliest, latest))
        .values_list("created_at", "clinic__time_zone", "partner__kind", "status", "outcome")
        .order_by()
    )


_ONWARD = _read(_onward_of, clinic_ids=STAND_IN_IDS, earliest=STAND_IN_MOMENT, latest=_MOMENT_2)


def _onward(clinic_ids, start, end, grid, starts) -> tuple[list, dict]:
    """Onward referrals sent to partners in each period (clinic-local date sent), by partner kind; and for the
    whole range, where those referrals stand now: still open, cancelled, or closed with an outcome."""
    per_period = [Counter() for _ in grid]
    by_kind: dict[str, Counter] = defaultdict(Counter)
    earliest = datetime.combine(start - timedelta(days=1), time.min, tzinfo=UTC)
    latest = datetime.combine(end + timedelta(days=2), time.min, tzinfo=UTC)
    zones: dict[str, ZoneInfo] = {}
    for created_at, zone_name, kind, status, outcome in _ONWARD.rows(
        clinic_ids=clinic_ids, earliest=earliest, latest=latest
    ):
        zone = zones.setdefault(zone_name, ZoneInfo(zone_name))
        day = created_at.astimezone(zone).date()
        if not start <= day <= end:
            continue
        per_period[_index(starts, day)][kind] += 1
        where = outcome or (ONWARD_CANCELLED if status == OnwardStatus.CANCELLED else ONWARD_OPEN)
        by_kind[kind]["sent"] += 1
        by_kind[kind][where] += 1
    return per_period, dict(by_kind)


# The figures only the page of figures by period shows (not the dashboard): referrals, onward referrals and the
# TOP figures by period and of the range (`Statistics` fields None without them).
DETAIL = ("referrals", "onward_referrals", "outcomes")


def statistics(
    *, clinics, start: date, end: date, granularity: str, as_of: date | None = None, detail: bool = True
) -> Statistics:
    """Every figure of SPEC 7 for these clinics, per period of `granularity`.

    Raw numbers: pass the result to `reports.suppression.present()` before showing it to anyone.
    `as_of` (default today) decides which retention cohorts have reached 3, 6 and 12 months.
    `detail=False`: what the dashboard shows only, without the figures of DETAIL (None), which the dashboard's
    first view would read for nothing (issue 15: they are tables on demand).
    """
    if granularity not in Granularity.VALUES:
        raise ValidationError({"granularity": "Choose week, month or quarter."})
    if end < start:
        raise ValidationError({"end": "The end date is before the start date."})
    as_of = as_of or timezone.localdate()
    clinics = list(clinics)
    clinic_ids = [clinic.pk for clinic in clinics]
    grid = periods(start, end, granularity)
    starts = [period.start for period in grid]
    dosing, dosing_total, by_clinic = _dosing(clinic_ids, start, end, grid, starts, granularity)
    read = episodes(clinic_ids, start, end)
    patients, patients_total, cohorts = _patients(read, start, end, grid, starts, as_of)
    outcomes, outcomes_total, top_change = _outcomes(clinic_ids, start, end, grid, starts, granularity, detail)
    referrals = referrals_total = onward = onward_by_kind = None
    if detail:
        referrals, referrals_total = _referrals(clinic_ids, start, end, grid, starts, granularity)
        onward, onward_by_kind = _onward(clinic_ids, start, end, grid, starts)
    drugs = [drug for drug in Drug.values if drug in dosing_total.doses]
    return Statistics(
        clinics=clinics,
        start=start,
        end=end,
        granularity=granularity,
        as_of=as_of,
        periods=grid,
        dosing=dosing,
        dosing_total=dosing_total,
        dosing_by_clinic=[(clinic, by_clinic.get(clinic.pk, DosingFigures())) for clinic in clinics],
        patients=patients,
        patients_total=patients_total,
        cohorts=cohorts,
        outcomes=outcomes,
        outcomes_total=outcomes_total,
        referrals=referrals,
        referrals_total=referrals_total,
        drugs=drugs,
        onward=onward,
        onward_by_kind=onward_by_kind,
        top_change=top_change,
        episodes=read,
    )


DISCHARGE_REASONS = DischargeReason
REFERRAL_SOURCES = ReferralSource
