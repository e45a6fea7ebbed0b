"""Attendance from the dosing records: the one place that decides what "attended" means.

Issue 16 (diversion attendance confirmations): a session counts as attended when its slot was
given or partly given; a day of a planned absence agreed with the clinic counts as engaged (S7:
its slots are cancelled and it is not a missed day), with the clinic's sessions of that day.
Days are clinic-local dates (`Slot.date`), so a clock change moves no session from one day or
week to another. Nothing here says why a session was missed, what was given or how much.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from .models import DosingSettings, PlannedAbsence, Slot, SlotStatus

ATTENDED = (SlotStatus.GIVEN, SlotStatus.PARTIAL)


@dataclass(frozen=True)
class Attendance:
    sessions_attended: int  # given or partly given, plus the sessions of planned-absence days
    sessions_expected: int  # the patient's sessions of those days (cancelled ones only on absence days)
    days_attended: int  # days with a session attended, plus planned-absence days
    last_attended_on: date | None  # the last day with a session given or partly given (never an absence day)


def attendance_between(patient, first: date, last: date) -> Attendance:
    """The patient's attendance on the clinic-local days `first` to `last`, both included."""
    if last < first:
        return Attendance(0, 0, 0, None)
    absent = set()
    for absence in PlannedAbsence.objects.filter(
        patient=patient, withdrawn_at__isnull=True, starts_on__lte=last, ends_on__gte=first
    ):
        day = max(absence.starts_on, first)
        while day <= min(absence.ends_on, last):
            absent.add(day)
            day += timedelta(days=1)
    per_absent_day = DosingSettings.for_clinic(patient.clinic).sessions_per_day
    attended, expected, attended_days = 0, 0, set()
    for slot_date, status in Slot.objects.filter(patient=patient, date__range=(first, last), top_up=False).values_list(
        "date", "status"
    ):
        if slot_date in absent:
            continue  # counted once per day below, whatever state its slots are in
        if status == SlotStatus.CANCELLED:
            continue  # cancelled by the clinic (e.g. a prescription stopped): not expected of the patient
        expected += 1
        if status in ATTENDED:
            attended += 1
            attended_days.add(slot_date)
    last_attended_on = (
        Slot.objects.filter(patient=patient, date__range=(first, last), status__in=ATTENDED)
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )
    excused = len(absent) * per_absent_day
    return Attendance(
        sessions_attended=attended + excused,
        sessions_expected=expected + excused,
        days_attended=len(attended_days | absent),
        last_attended_on=last_attended_on,
    )


def last_attended_on(patient, *, since: date, until: date) -> date | None:
    """The last clinic-local day from `since` to `until` with a session given or partly given."""
    return (
        Slot.objects.filter(patient=patient, date__range=(since, until), status__in=ATTENDED)
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )
