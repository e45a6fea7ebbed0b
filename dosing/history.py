"""A patient's dose and attendance history: one row per clinic-local day, one cell per session.

A prescriber clearing a hold or stepping up a titration needs to see what was given, missed,
withheld or refused, and when the patient was held or away. This is a selector (a read): three
queries whatever the range (slots with the administration in force, the holds that overlap it).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Prefetch, Q
from django.template.loader import render_to_string
from django.utils import timezone

from patients.models import Patient

from . import rules
from .models import SESSION_ORDER, Administration, Hold, Session, Slot, SlotStatus

DEFAULT_DAYS = 28
MAX_DAYS = 366


@dataclass(frozen=True)
class HistoryCell:
    """What happened in one session: `state` is one of STATES, `label` the words shown in the cell."""

    session: str
    state: str
    label: str
    detail: str = ""
    dose_mg: Decimal | None = None
    prescribed_mg: Decimal | None = None
    slot_id: int | None = None


# The states a cell can show, in the words of the legend (the API returns the keys).
STATES = {
    "given": "Given",
    "partial": "Partly given",
    "missed": "Missed",
    "withheld": "Withheld",
    "refused": "Refused",
    "held": "On hold",
    "away": "Away",
    "cancelled": "Cancelled",
    "expected": "Expected",
    "none": "No slot",
}


@dataclass
class HistoryDay:
    date: date
    cells: list[HistoryCell] = field(default_factory=list)


@dataclass
class History:
    start: date
    end: date
    sessions: list[str]
    days: list[HistoryDay]

    @property
    def session_labels(self) -> list[str]:
        return [Session(session).label for session in self.sessions]

    @property
    def counts(self) -> dict[str, int]:
        """How many cells of each state (every state present, zero included)."""
        counts = dict.fromkeys(STATES, 0)
        for day in self.days:
            for cell in day.cells:
                counts[cell.state] += 1
        return counts


def _held_on(holds: list[Hold], day: date) -> Hold | None:
    for hold in holds:
        cleared_on = hold.cleared_at.date() if hold.cleared_at else None
        if hold.since.date() <= day and (cleared_on is None or day < cleared_on):
            return hold
    return None


def _cell(slot: Slot, hold: Hold | None) -> HistoryCell:
    session = slot.session
    in_force = list(slot.administrations.all())  # prefetched: only the entries nobody corrects
    given = in_force[-1] if in_force else None
    common = {"session": session, "slot_id": slot.pk, "prescribed_mg": slot.prescription.dose_for(session)}
    if slot.status in (SlotStatus.GIVEN, SlotStatus.PARTIAL) and given is not None and given.dose_mg > 0:
        state = "given" if slot.status == SlotStatus.GIVEN else "partial"
        detail = f"corrected: {given.correction_reason}" if given.corrects_id else ""
        return HistoryCell(state=state, label=rules.mg(given.dose_mg), dose_mg=given.dose_mg, detail=detail, **common)
    if slot.status == SlotStatus.MISSED and hold is not None:
        return HistoryCell(state="held", label=STATES["held"], detail=hold.reason, **common)
    if slot.status in (SlotStatus.WITHHELD, SlotStatus.REFUSED, SlotStatus.MISSED):
        return HistoryCell(state=slot.status, label=STATES[slot.status], detail=slot.status_reason, **common)
    if slot.status == SlotStatus.CANCELLED:
        if hold is not None:
            return HistoryCell(state="held", label=STATES["held"], detail=hold.reason, **common)
        reason = slot.status_reason
        state = "away" if reason.lower().startswith(("away", "absence", "planned absence")) else "cancelled"
        return HistoryCell(state=state, label=STATES[state], detail=reason, **common)
    if hold is not None:
        return HistoryCell(state="held", label=STATES["held"], detail=hold.reason, **common)
    return HistoryCell(state="expected", label=STATES["expected"], **common)


def dose_history(patient: Patient, *, end: date, days: int = DEFAULT_DAYS) -> History:
    """The `days` clinic-local days ending on `end`, newest first, with a cell per session used in them."""
    start = end - timedelta(days=days - 1)
    in_force = Administration.objects.filter(corrected_by__isnull=True).order_by("given_at", "pk")
    slots = list(
        Slot.objects.filter(patient=patient, date__range=(start, end))
        .select_related("prescription")
        .prefetch_related(Prefetch("administrations", queryset=in_force))
        .order_by("date", "window_start")
    )
    holds = list(
        Hold.objects.filter(patient=patient, since__date__lte=end).filter(
            Q(cleared_at__isnull=True) | Q(cleared_at__date__gte=start)
        )
    )
    used = {slot.session for slot in slots}
    # Morning and afternoon always (twice a day is the service); an evening column only when used.
    sessions = [s.value for s in SESSION_ORDER if s in used or s in (Session.MORNING, Session.AFTERNOON)]
    by_day: dict[date, dict[str, Slot]] = {}
    for slot in slots:
        by_day.setdefault(slot.date, {})[slot.session] = slot
    rows = []
    for offset in range(days):
        day = end - timedelta(days=offset)
        hold = _held_on(holds, day)
        cells = []
        for session in sessions:
            slot = by_day.get(day, {}).get(session)
            if slot is not None:
                cells.append(_cell(slot, hold))
            elif hold is not None:
                cells.append(HistoryCell(session=session, state="held", label=STATES["held"], detail=hold.reason))
            else:
                cells.append(HistoryCell(session=session, state="none", label="—"))
        rows.append(HistoryDay(date=day, cells=cells))
    return History(start=start, end=end, sessions=sessions, days=rows)


def render_panel(patient: Patient) -> str:
    """The patient record's section: the last 28 days, with a link to the longer range."""
    context = {
        "patient": patient,
        "dose_history": dose_history(patient, end=timezone.localdate()),
        "show_more_link": True,
    }
    return render_to_string("dosing/_dose_history.html", context)
