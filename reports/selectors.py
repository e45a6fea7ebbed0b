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
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncMonth, TruncQuarter, TruncWeek
from django.utils import timezone

from clinics.parsing import parse_int
from clinics.selectors import clinics_for
from dosing.models import Drug
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
    outcomes: list
    outcomes_total: OutcomeFigures
    referrals: list
    referrals_total: ReferralFigures
    drugs: list
    onward: list = field(default_factory=list)  # per period: partner kind -> referrals sent
    onward_by_kind: dict = field(default_factory=dict)  # partner kind -> Counter(sent, open, cancelled, outcomes)
    # The paired TOP change of the range (issue 15): measure -> PairedChange, each episode's first interview
    # against its latest review in the range (whatever became of the episode since).
    top_change: dict = field(default_factory=dict)


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


def _fetched(queryset):
    """The rows of a values() queryset, as dicts, read straight from the cursor on PostgreSQL.

    The aggregates here come back from psycopg already as Python's int, Decimal and date, so Django's
    per-value converters and values() iterator (about as costly as the queries themselves for the
    hundreds of summary rows of a report) change nothing; other databases go through the ORM.
    """
    if connection.vendor != "postgresql":
        yield from queryset
        return
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # no clinic: the ORM answers no rows without asking the database
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        rows = cursor.fetchall()
    for row in rows:
        yield dict(zip(names, row, strict=True))


def _tuples(queryset) -> list[tuple]:
    """The rows of a values_list() queryset of plain columns, as tuples, read straight from the cursor on
    PostgreSQL (as `_fetched`: thousands of episodes, where the ORM's iterator costs more than the query)."""
    if connection.vendor != "postgresql":
        return list(queryset)
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _bucketed(rows, field: str, starts: list[date]):
    """Rows grouped by the calendar period the database truncated `field` to, with the index of our period.

    The first period may be clipped to the range: its truncated start is before `starts[0]`.
    """
    for row in rows:
        yield _index(starts, max(row[field], starts[0])), row


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


def _add(counts: list, values: list) -> None:
    for n, value in enumerate(values):
        counts[n] += value


def _summary_rows(daily, monthly, clinic_ids, start, end, granularity, fields, sums):
    """Rows of a session or dose summary summed by period (`bucket`) and `fields`, over the range.

    Months and quarters are made of whole calendar months: those inside the range are read from the monthly
    table; only the days of a month cut by the start or the end of the range from the daily one. Weeks are
    read from the daily table.
    """
    trunc = TRUNC[granularity]
    days = [(start, end)]
    querysets = []
    if granularity != Granularity.WEEK:
        first = start if start.day == 1 else add_months(start.replace(day=1), 1)
        after = end + timedelta(days=1)
        after_whole = after if after.day == 1 else end.replace(day=1)  # the day after the last whole month
        if first < after_whole:
            querysets.append(
                monthly.objects.filter(clinic_id__in=clinic_ids, month__gte=first, month__lt=after_whole).annotate(
                    bucket=trunc("month")
                )
            )
            days = [(start, first - timedelta(days=1)), (after_whole, end)]
    days = [(first_day, last_day) for first_day, last_day in days if first_day <= last_day]
    if days:
        in_days = Q()
        for first_day, last_day in days:
            in_days |= Q(date__range=(first_day, last_day))
        querysets.append(daily.objects.filter(in_days, clinic_id__in=clinic_ids).annotate(bucket=trunc("date")))
    for queryset in querysets:
        yield from _fetched(queryset.values("bucket", *fields).annotate(**sums).order_by())


def _dosing(clinic_ids, start, end, grid, starts, granularity) -> tuple[list, DosingFigures, dict]:
    """From the summary tables: sessions by period and clinic (a few hundred rows, added up here both ways),
    and doses by period and drug."""
    # Added up as plain lists of SESSION_COLUMNS (hundreds of rows, each into three sums), then made figures.
    zero = [0] * len(SESSION_COLUMNS)
    period_counts = [zero.copy() for _ in grid]
    total_counts = zero.copy()
    clinic_counts: dict[int, list] = {}
    sessions = _summary_rows(
        DailySessionStats,
        MonthlySessionStats,
        clinic_ids,
        start,
        end,
        granularity,
        ("clinic_id",),
        {column: Sum(column) for column in SESSION_COLUMNS},
    )
    for i, row in _bucketed(sessions, "bucket", starts):
        values = [row[column] or 0 for column in SESSION_COLUMNS]
        _add(period_counts[i], values)
        _add(total_counts, values)
        _add(clinic_counts.setdefault(row["clinic_id"], zero.copy()), values)

    def figures(counts):
        return DosingFigures(**dict(zip(SESSION_COLUMNS, counts, strict=True)))

    per_period = [figures(counts) for counts in period_counts]
    total = figures(total_counts)
    by_clinic = {clinic_id: figures(counts) for clinic_id, counts in clinic_counts.items()}
    doses = _summary_rows(
        DailyDoseStats,
        MonthlyDoseStats,
        clinic_ids,
        start,
        end,
        granularity,
        ("drug",),
        {"mg": Sum("total_mg"), "patient_days": Sum("patients_dosed")},
    )
    for i, row in _bucketed(doses, "bucket", starts):
        for figures in (per_period[i], total):
            entry = figures.doses.setdefault(row["drug"], [Decimal(0), 0])
            entry[0] += Decimal(row["mg"])
            entry[1] += row["patient_days"]
    return per_period, total, by_clinic


def _stayed(started_on: date, ended_on: date, days: int, months: int) -> bool:
    """ended_on > add_months(started_on, months), `days` apart: N months are 28 to 31 days each, so the
    calendar is needed only near the milestone (called for every discharged member of every cohort)."""
    if days > 31 * months:
        return True
    if days <= 28 * months:
        return False
    return ended_on > add_months(started_on, months)


def _patients(clinic_ids, start, end, grid, starts, as_of) -> tuple[list, PatientFigures, list]:
    """Episodes (thousands of rows) in one pass of plain Python: local names and counters, one sort."""
    per_period = [PatientFigures() for _ in grid]
    total = PatientFigures()
    last_period = len(grid) - 1
    spans = []  # (patient, first period index, last period index) of each episode
    cohorts = defaultdict(list)  # period index -> [(started_on, ended_on)]
    episodes = _tuples(
        Episode.objects.filter(clinic_id__in=clinic_ids, started_on__lte=end)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=start))
        .values_list("patient_id", "started_on", "ended_on", "discharge_reason")
        .order_by()
    )
    new_starts = 0
    total_discharges = total.discharges
    for patient_id, started_on, ended_on, reason in episodes:
        if started_on >= start:
            first = bisect_right(starts, started_on) - 1
            per_period[first].new_starts += 1
            new_starts += 1
            cohorts[first].append((started_on, ended_on))
        else:  # started before the range: in treatment from its first period
            first = 0
        if ended_on is None or ended_on > end:
            last = last_period
        else:  # discharged in the range (ended_on >= start: the query)
            last = bisect_right(starts, ended_on) - 1
            discharges = per_period[last].discharges
            discharges[reason] = discharges.get(reason, 0) + 1
            total_discharges[reason] = total_discharges.get(reason, 0) + 1
        spans.append((patient_id, first, last))
    total.new_starts = new_starts
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

    result = []
    for i, period in enumerate(grid):
        members = cohorts.get(i, [])
        # Whoever is still in treatment is retained at every milestone: only the discharged are checked.
        still_in = sum(1 for _, ended_on in members if ended_on is None)
        discharged = [
            (started_on, ended_on, (ended_on - started_on).days) for started_on, ended_on in members if ended_on
        ]
        retained = {}
        for months in RETENTION_MONTHS:
            # Only once every member of the cohort has reached the milestone (no half-grown cohorts).
            if add_months(period.end, months) > as_of:
                retained[months] = None
            else:
                # In treatment on the day N months after the start; discharged that day or before = not retained.
                retained[months] = still_in + sum(
                    _stayed(started_on, ended_on, days, months) for started_on, ended_on, days in discharged
                )
        result.append(Cohort(period=period, started=len(members), retained=retained))
    return per_period, total, result


# The measures of the TOP figures by period and of the range (the means and flags shown): summed over every row.
SHOWN_MEASURES = (*TOP_MEANS, *TOP_FLAGS)


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


def _outcomes(clinic_ids, start, end, grid, starts, granularity) -> tuple[list, OutcomeFigures, dict]:
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
    shown = [*SHOWN_MEASURES, *(f"start_{name}" for name in SHOWN_MEASURES)]
    period_n = [0] * len(grid)
    period_sums = [dict.fromkeys(shown, 0) for _ in grid]

    def add(rows, sign=1):
        for i, row in _bucketed(_fetched(rows), "bucket", starts):
            period_n[i] += sign * row["n"]
            for name in shown:
                period_sums[i][name] += sign * row[name]

    follow_ups = OutcomeFollowUp.objects.filter(episode__clinic_id__in=clinic_ids)
    latest_in_range = Q(next_interviewed_on__isnull=True) | Q(next_interviewed_on__gt=end)
    latest_of_period = Q(**{f"latest_of_{granularity}": True})
    current = Q(episode__ended_on__isnull=True) | Q(episode__ended_on__gte=start)
    by_period = {"n": Count("id"), **{name: Sum(name) for name in shown}}
    bucket = TRUNC[granularity]("interviewed_on")
    whole = _whole_months(start, end, granularity)
    days = [(start, end)]
    if whole is not None:
        first, after = whole
        add(
            MonthlyOutcomeStats.objects.filter(
                clinic_id__in=clinic_ids, latest_of=granularity, month__gte=first, month__lt=after
            )
            .annotate(bucket=TRUNC[granularity]("month"))
            .values("bucket")
            .annotate(**{name: Sum(name) for name in ("n", *shown)})
            .order_by()
        )
        add(
            follow_ups.filter(latest_of_period, episode__ended_on__lt=start, interviewed_on__gte=first)
            .filter(interviewed_on__lt=after)
            .annotate(bucket=bucket)
            .values("bucket")
            .annotate(**by_period)
            .order_by(),
            sign=-1,
        )
        days = [(start, first - timedelta(days=1)), (after, end)]
    days = [(first_day, last_day) for first_day, last_day in days if first_day <= last_day]
    if days:
        in_days = Q()
        for first_day, last_day in days:
            in_days |= Q(interviewed_on__range=(first_day, last_day))
        add(
            follow_ups.filter(in_days)
            .filter(current)
            .filter(latest_of_period | latest_in_range)
            .annotate(bucket=bucket)
            .values("bucket")
            .annotate(**by_period)
            .order_by()
        )

    # The comparisons first: once `heroin_days` names the sum, a later expression would read the sum, not the column.
    sums = {}
    for name, (_, _, lower_is_better) in TOP_CHANGE.items():
        better, worse = _direction(name, lower_is_better)
        sums[f"{name}__improved"] = Count("id", filter=better)
        sums[f"{name}__worse"] = Count("id", filter=worse)
    paired_only = [name for name in TOP_CHANGE if name not in SHOWN_MEASURES]
    for name in paired_only:
        sums[f"{name}__entry"] = Sum(f"start_{name}")
        sums[f"{name}__latest"] = Sum(name)
    sums.update(by_period)  # and the measures shown, summed as by period
    rows = (
        follow_ups.filter(latest_in_range, interviewed_on__range=(start, end))
        .annotate(current=ExpressionWrapper(current, output_field=BooleanField()))
        .values("current")
        .annotate(**sums)
        .order_by()
    )
    total_n, total_sums = 0, dict.fromkeys(shown, 0)
    paired = {name: PairedChange() for name in TOP_CHANGE}
    for row in _fetched(rows):
        for name, change in paired.items():
            change.n += row["n"]
            change.entry += row[f"start_{name}"] if name in SHOWN_MEASURES else row[f"{name}__entry"]
            change.latest += row[name] if name in SHOWN_MEASURES else row[f"{name}__latest"]
            change.improved += row[f"{name}__improved"]
            change.worse += row[f"{name}__worse"]
        if row["current"]:
            total_n += row["n"]
            for name in shown:
                total_sums[name] += row[name]
    per_period = [_outcome_figures(n, figures) for n, figures in zip(period_n, period_sums, strict=True)]
    return per_period, _outcome_figures(total_n, total_sums), paired


def _referrals(clinic_ids, start, end, grid, starts, granularity) -> tuple[list, ReferralFigures]:
    per_period = [ReferralFigures() for _ in grid]
    total = ReferralFigures()
    rows = (
        Referral.objects.filter(clinic_id__in=clinic_ids, received_on__range=(start, end))
        .annotate(bucket=TRUNC[granularity]("received_on"))
        .values("bucket", "source")
        .annotate(n=Count("id"), started=Count("id", filter=Q(status=ReferralStatus.ACCEPTED)))
        .order_by()
    )
    for i, row in _bucketed(_fetched(rows), "bucket", starts):
        for figures in (per_period[i], total):
            figures.by_source[row["source"]] = figures.by_source.get(row["source"], 0) + row["n"]
            figures.started += row["started"]
    return per_period, total


ONWARD_OPEN = "open"
ONWARD_CANCELLED = "cancelled"


def _onward(clinic_ids, start, end, grid, starts) -> tuple[list, dict]:
    """Onward referrals sent to partners in each period (clinic-local date sent), by partner kind; and for the
    whole range, where those referrals stand now: still open, cancelled, or closed with an outcome."""
    per_period = [Counter() for _ in grid]
    by_kind: dict[str, Counter] = defaultdict(Counter)
    earliest = datetime.combine(start - timedelta(days=1), time.min, tzinfo=UTC)
    latest = datetime.combine(end + timedelta(days=2), time.min, tzinfo=UTC)
    rows = (
        OnwardReferral.objects.filter(clinic_id__in=clinic_ids, created_at__range=(earliest, latest))
        .values_list("created_at", "clinic__time_zone", "partner__kind", "status", "outcome")
        .order_by()
    )
    zones: dict[str, ZoneInfo] = {}
    for created_at, zone_name, kind, status, outcome in rows:
        zone = zones.setdefault(zone_name, ZoneInfo(zone_name))
        day = created_at.astimezone(zone).date()
        if not start <= day <= end:
            continue
        per_period[_index(starts, day)][kind] += 1
        where = outcome or (ONWARD_CANCELLED if status == OnwardStatus.CANCELLED else ONWARD_OPEN)
        by_kind[kind]["sent"] += 1
        by_kind[kind][where] += 1
    return per_period, dict(by_kind)


def statistics(*, clinics, start: date, end: date, granularity: str, as_of: date | None = None) -> Statistics:
    """Every figure of SPEC 7 (onward referrals aside) for these clinics, per period of `granularity`.

    Raw numbers: pass the result to `reports.suppression.present()` before showing it to anyone.
    `as_of` (default today) decides which retention cohorts have reached 3, 6 and 12 months.
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
    patients, patients_total, cohorts = _patients(clinic_ids, start, end, grid, starts, as_of)
    outcomes, outcomes_total, top_change = _outcomes(clinic_ids, start, end, grid, starts, granularity)
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
    )


DISCHARGE_REASONS = DischargeReason
REFERRAL_SOURCES = ReferralSource
