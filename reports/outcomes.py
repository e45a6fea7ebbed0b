"""What commissioners fund HAT for (issue 15): headline figures against the previous period, the paired TOP
change from entry to latest review, and safety per 1,000 patient-days. Raw numbers, before disclosure control.

Read by `reports.cache.report_for` beside `selectors.statistics()` and presented by `reports.suppression`.
The previous period is the range of the same length that ends the day before the range starts. Everything
comes from the records staff write: episodes (small: read directly), and the summary tables the refresh job
keeps (sessions, adverse events, TOP follow-ups), never a hand-kept copy.
"""

from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from patients.models import DischargeReason

from .selectors import (
    RETENTION_MONTHS,
    SESSION_COLUMNS,
    SESSION_READS,
    DosingFigures,
    Granularity,
    Statistics,
    _stayed,
    add_months,
    previous_range,
    summary_rows,
)

# The discharge reasons a commissioner asks about, grouped (issue 15: completed, dropped out, transferred,
# prison, died); the rest of the controlled list is "other".
DISCHARGE_GROUPS = {
    "completed": ("Completed", (DischargeReason.COMPLETED,)),
    "dropped_out": ("Dropped out", (DischargeReason.DROPPED_OUT,)),
    "transferred": ("Transferred", (DischargeReason.TO_ORAL, DischargeReason.TO_OTHER_SERVICE)),
    "custody": ("Prison", (DischargeReason.CUSTODY,)),
    "died": ("Died", (DischargeReason.DIED,)),
    "other": ("Other", (DischargeReason.MOVED_AWAY, DischargeReason.WITHDRAWN, DischargeReason.OTHER)),
}
GROUP_OF = {reason: group for group, (_, reasons) in DISCHARGE_GROUPS.items() for reason in reasons}


@dataclass
class RangeFigures:
    """The headline figures of one date range (raw)."""

    start: date
    end: date
    caseload: int = 0
    new_starts: int = 0
    discharges: Counter = field(default_factory=Counter)  # group -> count
    patient_days: int = 0
    retention: dict = field(default_factory=dict)  # months -> (cohort, retained), or None before it is reached
    scheduled: int = 0
    given: int = 0
    adverse_events: int = 0
    overdoses: int = 0
    naloxone_uses: int = 0

    @property
    def deaths(self) -> int:
        return self.discharges.get("died", 0)


@dataclass
class Outcomes:
    current: RangeFigures
    previous: RangeFigures
    patient_days: list  # per period of the report's grid
    top: dict  # measure -> selectors.PairedChange
    by_clinic: dict = field(default_factory=dict)  # clinic id -> RangeFigures of the range (episode figures only)


def _days(first: date, last: date) -> int:
    return max(0, (last - first).days + 1)


def _episode_figures(episodes, figures: RangeFigures, as_of: date) -> set:
    """`episodes` sorted by start date (the retention cohorts are read by bisection). Returns the caseload's
    patients."""
    start, end = figures.start, figures.end
    counted_to = min(end, as_of)
    patients = set()
    for patient_id, started_on, ended_on, reason in episodes:
        if started_on > end:
            break
        if ended_on is None or ended_on >= start:
            patients.add(patient_id)
            figures.patient_days += _days(max(started_on, start), min(ended_on or counted_to, counted_to))
            if started_on >= start:
                figures.new_starts += 1
            if ended_on is not None and ended_on <= end:
                figures.discharges[GROUP_OF.get(reason, "other")] += 1
    figures.caseload = len(patients)
    starts = [episode[1] for episode in episodes]
    for months in RETENTION_MONTHS:
        # The patients who started N months before the range: still in treatment N months after starting?
        first, last = add_months(start, -months), add_months(end, -months)
        if add_months(last, months) > as_of:
            figures.retention[months] = None
            continue
        cohort = episodes[bisect_left(starts, first) : bisect_right(starts, last)]
        retained = sum(
            ended_on is None or _stayed(started_on, ended_on, (ended_on - started_on).days, months)
            for _, started_on, ended_on, _ in cohort
        )
        figures.retention[months] = (len(cohort), retained)
    return patients


def _add_up(figures: RangeFigures, parts, *, caseload: int) -> None:
    """`figures` as the sum of the figures of the same range over disjoint sets of episodes (the clinics)."""
    figures.caseload = caseload
    for part in parts:
        figures.patient_days += part.patient_days
        figures.new_starts += part.new_starts
        figures.discharges.update(part.discharges)
        for months, cohort in part.retention.items():
            if cohort is None:  # decided by the range alone: the same for every part
                figures.retention[months] = None
            else:
                started, retained = figures.retention.get(months) or (0, 0)
                figures.retention[months] = (started + cohort[0], retained + cohort[1])


def _patient_days_by_period(episodes, start: date, end: date, starts: list[date], as_of: date) -> list[int]:
    """Patient-days in treatment in each period: a difference array over the range's days."""
    counted_to = min(end, as_of)
    length = (end - start).days + 2
    change = [0] * length
    for _, started_on, ended_on, _ in episodes:
        first, last = max(started_on, start), min(ended_on or counted_to, counted_to)
        if first <= last:
            change[(first - start).days] += 1
            change[(last - start).days + 1] -= 1
    per_period = [0] * len(starts)
    period = 0
    running = 0
    for offset in range(length - 1):
        day = start + timedelta(days=offset)
        while period + 1 < len(starts) and starts[period + 1] <= day:
            period += 1
        running += change[offset]
        per_period[period] += running
    return per_period


def _dosing_totals(clinic_ids, figures: RangeFigures) -> DosingFigures:
    """The session summaries of the range added up (the statistics have them for their own range already)."""
    rows = summary_rows(SESSION_READS, clinic_ids, figures.start, figures.end, Granularity.QUARTER)
    totals = [sum(column) for column in zip(*(row[2:] for row in rows), strict=True)] or [0] * len(SESSION_COLUMNS)
    return DosingFigures(**dict(zip(SESSION_COLUMNS, totals, strict=True)))


def _set_dosing(figures: RangeFigures, dosing: DosingFigures) -> None:
    figures.scheduled = dosing.scheduled
    figures.given = dosing.doses_given
    figures.adverse_events = dosing.adverse_events
    figures.overdoses = dosing.overdoses
    figures.naloxone_uses = dosing.naloxone_uses


def outcomes(*, stats: Statistics) -> Outcomes:
    """The headline figures of the range and of the previous one, patient-days per period, and the TOP change
    (read by `statistics()` in the same query as the other TOP figures) of these statistics' filters."""
    clinic_ids = [clinic.pk for clinic in stats.clinics]
    start, end, grid, as_of = stats.start, stats.end, stats.periods, stats.as_of
    before_start, before_end = previous_range(start, end)
    episodes = stats.episodes  # every episode these figures need (selectors.episodes), by start date
    of_clinic = {clinic_id: [] for clinic_id in clinic_ids}
    for episode in episodes:
        of_clinic[episode[4]].append(episode[:4])
    episodes = [episode[:4] for episode in episodes]
    current, previous = RangeFigures(start, end), RangeFigures(before_start, before_end)
    by_clinic = {}
    if len(clinic_ids) > 1:
        # The clinic comparison; the range's own figures are theirs added up (each patient once in the caseload).
        patients = set()
        for clinic_id, own in of_clinic.items():
            by_clinic[clinic_id] = RangeFigures(start, end)
            patients |= _episode_figures(own, by_clinic[clinic_id], as_of)
        _add_up(current, by_clinic.values(), caseload=len(patients))
    else:
        _episode_figures(episodes, current, as_of)
    _episode_figures(episodes, previous, as_of)
    _set_dosing(current, stats.dosing_total)
    _set_dosing(previous, _dosing_totals(clinic_ids, previous))
    per_period = _patient_days_by_period(episodes, start, end, [period.start for period in grid], as_of)
    return Outcomes(current, previous, per_period, stats.top_change, by_clinic)
