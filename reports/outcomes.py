"""What commissioners fund HAT for (issue 15): headline figures against the previous period, the paired TOP
change from entry to latest review, and safety per 1,000 patient-days. Raw numbers, before disclosure control.

Read by `reports.cache.report_for` beside `selectors.statistics()` and presented by `reports.suppression`.
The previous period is the range of the same length that ends the day before the range starts. Everything
comes from the records staff write: episodes (small: read directly), and the summary tables the refresh job
keeps (sessions, adverse events, TOP follow-ups), never a hand-kept copy.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate, compress, pairwise

from patients.models import DischargeReason

from .selectors import (
    RETENTION_MONTHS,
    SESSION_COLUMNS,
    SESSION_READS,
    DosingFigures,
    Episodes,
    Granularity,
    Statistics,
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


def _range_figures(
    episodes: Episodes, figures: dict, start: date, end: date, as_of: date, change: list | None = None
) -> set:
    """The episode figures of one range, into `figures` (clinic id -> RangeFigures of the range), in one pass over
    the episodes that were open in it. Returns their patients (the caseload of all the clinics: each patient once).

    With `change` (a list one longer than the range has days), each episode's days in treatment in the range are
    added to it as a difference array (patient-days by period).
    """
    counted_to = min(end, as_of)
    patients = set()
    of_clinic = {clinic_id: set() for clinic_id in figures}
    for patient_id, started_on, ended_on, reason, clinic_id in episodes.rows[: episodes.started(date.min, end).stop]:
        if ended_on is not None and ended_on < start:
            continue
        own = figures[clinic_id]
        of_clinic[clinic_id].add(patient_id)
        patients.add(patient_id)
        first = started_on if started_on > start else start
        last = ended_on if ended_on is not None and ended_on < counted_to else counted_to
        if first <= last:
            own.patient_days += (last - first).days + 1
            if change is not None:
                change[(first - start).days] += 1
                change[(last - start).days + 1] -= 1
        if ended_on is not None and ended_on <= end:
            own.discharges[GROUP_OF.get(reason, "other")] += 1
    new_starts = Counter(episodes.clinics[episodes.started(start, end)])
    for clinic_id, own in figures.items():
        own.caseload = len(of_clinic[clinic_id])
        own.new_starts = new_starts[clinic_id]
    for months in RETENTION_MONTHS:
        # The patients who started N months before the range: still in treatment N months after starting?
        first, last = add_months(start, -months), add_months(end, -months)
        if add_months(last, months) > as_of:
            for own in figures.values():
                own.retention[months] = None
            continue
        cohort = episodes.started(first, last)
        clinics = episodes.clinics[cohort]
        started, retained = Counter(clinics), Counter(compress(clinics, episodes.still_in[months][cohort]))
        for clinic_id, own in figures.items():
            own.retention[months] = (started[clinic_id], retained[clinic_id])
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


def _by_period(change: list, start: date, end: date, starts: list[date]) -> list[int]:
    """The sums over each period of a difference array over the range's days (patients in treatment each day)."""
    each_day = list(accumulate(change))
    bounds = [(first - start).days for first in starts] + [(end - start).days + 1]
    return [sum(each_day[first:after]) for first, after in pairwise(bounds)]


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
    current, previous = RangeFigures(start, end), RangeFigures(before_start, before_end)
    # The clinic comparison; the range's own figures are theirs added up (each patient once in the caseload).
    by_clinic = {clinic_id: RangeFigures(start, end) for clinic_id in clinic_ids}
    change = [0] * ((end - start).days + 2)
    _add_up(current, by_clinic.values(), caseload=len(_range_figures(episodes, by_clinic, start, end, as_of, change)))
    parts = {clinic_id: RangeFigures(before_start, before_end) for clinic_id in clinic_ids}
    caseload = len(_range_figures(episodes, parts, before_start, before_end, as_of))
    _add_up(previous, parts.values(), caseload=caseload)
    _set_dosing(current, stats.dosing_total)
    _set_dosing(previous, _dosing_totals(clinic_ids, previous))
    per_period = _by_period(change, start, end, [period.start for period in grid])
    return Outcomes(current, previous, per_period, stats.top_change, by_clinic if len(clinic_ids) > 1 else {})
