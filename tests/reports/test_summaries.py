"""The summary tables always agree with the raw records they summarise.

A property-based test runs random sequences of what happens in a clinic (doses, corrections,
missed and withheld sessions, holds, adverse events, discharges that cancel open slots, new days,
outcome interviews recorded, edited or deleted, re-admissions) with the refresh job run at random
moments, then compares the summary tables (daily, monthly, TOP follow-ups and their monthly sums)
with a recomputation from scratch written independently here, from the raw rows.
"""

import datetime
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dosing.models import Administration, AdverseEvent, Hold, Slot, SlotStatus
from patients.models import Episode, OutcomeInterview
from reports import services
from reports.models import (
    DailyDoseStats,
    DailySessionStats,
    MonthlyDoseStats,
    MonthlyOutcomeStats,
    MonthlySessionStats,
    OutcomeFollowUp,
)
from tests.factories import PatientFactory, PrescriptionFactory
from tests.factories import reports as history

pytestmark = pytest.mark.django_db
D = datetime.date
UTC = datetime.UTC
START = datetime.datetime(2026, 3, 20, 6, 0, tzinfo=UTC)  # the run crosses the clock change of 29 March


def recomputed() -> tuple[dict, ...]:
    """What the summary tables must hold, computed here from the raw rows without the app's code."""
    sessions: dict = defaultdict(Counter)
    for clinic_id, day, session, status in Slot.objects.values_list("clinic_id", "date", "session", "status"):
        row = sessions[(clinic_id, day, session)]
        row["slots"] += 1
        row[{"scheduled": "open", "arrived": "open", "checked": "open"}.get(status, status)] += 1
    for kind, clinic_id, day, session in AdverseEvent.objects.values_list(
        "kind", "administration__slot__clinic_id", "administration__slot__date", "administration__slot__session"
    ):
        sessions[(clinic_id, day, session)]["adverse_events"] += 1
        sessions[(clinic_id, day, session)]["naloxone_uses"] += kind == "naloxone"
        sessions[(clinic_id, day, session)]["overdoses"] += kind == "overdose"
    corrected = set(Administration.objects.exclude(corrects=None).values_list("corrects_id", flat=True))
    doses: dict = {}
    for pk, clinic_id, day, drug, mg, patient_id in Administration.objects.values_list(
        "pk", "slot__clinic_id", "slot__date", "drug", "dose_mg", "patient_id"
    ):
        if pk in corrected or mg <= 0:
            continue
        entry = doses.setdefault((clinic_id, day, drug), [0, Decimal(0), set()])
        entry[0] += 1
        entry[1] += mg
        entry[2].add(patient_id)
    sessions = {key: {k: v for k, v in row.items() if v} for key, row in sessions.items()}
    doses = {key: (n, mg, len(patients)) for key, (n, mg, patients) in doses.items()}
    monthly_sessions: dict = defaultdict(Counter)
    for (clinic_id, day, _session), row in sessions.items():
        monthly_sessions[(clinic_id, day.replace(day=1))].update(row)
    monthly_doses: dict = {}
    for (clinic_id, day, drug), (n, mg, patient_days) in doses.items():
        n0, mg0, days0 = monthly_doses.get((clinic_id, day.replace(day=1), drug), (0, Decimal(0), 0))
        monthly_doses[(clinic_id, day.replace(day=1), drug)] = (n0 + n, mg0 + mg, days0 + patient_days)
    rows = follow_ups()
    monthly = {key: dict(row) for key, row in monthly_sessions.items()}
    return sessions, doses, monthly, monthly_doses, rows, monthly_outcomes(rows)


# The measures summed by month (the first nine of `top`: those shown by period).
MONTHLY_MEASURES = 9


def monthly_outcomes(rows: dict) -> dict:
    """The follow-ups that are the latest of their episode in their month, or quarter, added up by clinic and month."""
    clinic_of = dict(Episode.objects.values_list("pk", "clinic_id"))
    sums: dict = {}
    for episode_id, _first, on, _next, _week, of_month, of_quarter, measures, start in rows.values():
        for latest_of, latest in (("month", of_month), ("quarter", of_quarter)):
            if latest:
                key = (clinic_of[episode_id], on.replace(day=1), latest_of)
                n, totals, start_totals = sums.get(key, (0, (0,) * MONTHLY_MEASURES, (0,) * MONTHLY_MEASURES))
                sums[key] = (
                    n + 1,
                    tuple(map(sum, zip(totals, measures[:MONTHLY_MEASURES], strict=True))),
                    tuple(map(sum, zip(start_totals, start[:MONTHLY_MEASURES], strict=True))),
                )
    return sums


def top(interview) -> tuple:
    """The TOP measures of the statistics, from one interview: days, ratings and yes (1) or no (0)."""
    return (
        interview.heroin_days,
        interview.shoplifting_days + interview.selling_drugs_days,
        interview.psychological_health,
        interview.physical_health,
        interview.quality_of_life,
        interview.paid_work_days,
        int(any((interview.shoplifting_days, interview.selling_drugs_days, interview.other_theft, interview.assault))),
        int(interview.acute_housing_problem or interview.at_risk_of_eviction),
        int(bool(interview.paid_work_days or interview.education_days)),
        interview.other_opiate_days,
        interview.crack_days,
        interview.injected_days,
        interview.shoplifting_days,
        interview.selling_drugs_days,
        int(interview.other_theft),
        int(interview.assault),
    )


def follow_ups() -> dict:
    """Every interview but the first of its episode, with the first one and the date of the next one."""
    episodes = defaultdict(list)
    for interview in OutcomeInterview.objects.all():
        episodes[interview.episode_id].append(interview)
    rows = {}
    for episode_id, interviews in episodes.items():
        first, *later = sorted(interviews, key=lambda interview: (interview.interviewed_on, interview.pk))
        for interview, following in zip(later, [*later[1:], None], strict=False):
            on, next_on = interview.interviewed_on, following and following.interviewed_on
            rows[interview.pk] = (
                episode_id,
                first.pk,
                on,
                next_on,
                # The next interview is in a later ISO week, calendar month, calendar quarter (or there is none).
                next_on is None or next_on.isocalendar()[:2] != on.isocalendar()[:2],
                next_on is None or (next_on.year, next_on.month) != (on.year, on.month),
                next_on is None or (next_on.year, (next_on.month - 1) // 3) != (on.year, (on.month - 1) // 3),
                top(interview),
                top(first),
            )
    return rows


def summarised() -> tuple[dict, ...]:
    columns = [
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
    ]
    sessions = {
        (row["clinic_id"], row["date"], row["session"]): {c: row[c] for c in columns if row[c]}
        for row in DailySessionStats.objects.values("clinic_id", "date", "session", *columns)
    }
    doses = {
        (clinic_id, day, drug): (n, mg, patients)
        for clinic_id, day, drug, n, mg, patients in DailyDoseStats.objects.values_list(
            "clinic_id", "date", "drug", "doses", "total_mg", "patients_dosed"
        )
    }
    monthly_sessions = {
        (row["clinic_id"], row["month"]): {c: row[c] for c in columns if row[c]}
        for row in MonthlySessionStats.objects.values("clinic_id", "month", *columns)
    }
    monthly_doses = {
        (clinic_id, month, drug): (n, mg, patients)
        for clinic_id, month, drug, n, mg, patients in MonthlyDoseStats.objects.values_list(
            "clinic_id", "month", "drug", "doses", "total_mg", "patients_dosed"
        )
    }
    measures = OutcomeFollowUp.MEASURES
    follow_up_rows = {
        row["interview_id"]: (
            row["episode_id"],
            row["start_interview_id"],
            row["interviewed_on"],
            row["next_interviewed_on"],
            row["latest_of_week"],
            row["latest_of_month"],
            row["latest_of_quarter"],
            tuple(row[name] for name in measures),
            tuple(row[f"start_{name}"] for name in measures),
        )
        for row in OutcomeFollowUp.objects.values()
    }
    monthly_measures = MonthlyOutcomeStats.MEASURES
    assert monthly_measures == measures[:MONTHLY_MEASURES]
    monthly_outcome_rows = {
        (row["clinic_id"], row["month"], row["latest_of"]): (
            row["n"],
            tuple(row[name] for name in monthly_measures),
            tuple(row[f"start_{name}"] for name in monthly_measures),
        )
        for row in MonthlyOutcomeStats.objects.values()
    }
    return sessions, doses, monthly_sessions, monthly_doses, follow_up_rows, monthly_outcome_rows


class Rollback(Exception):
    pass


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "day",
                "dose",
                "partial",
                "correct",
                "correct_to_zero",
                "miss",
                "withhold",
                "refuse",
                "hold",
                "adverse",
                "naloxone",
                "discharge",
                "readmit",
                "interview",
                "edit_interview",
                "delete_interview",
                "refresh",
                "wait",
            ]
        ),
        st.integers(min_value=0, max_value=2),  # which patient
        st.integers(min_value=0, max_value=50),  # which slot or interview / how long to wait / which day
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS)
# A status change without a new row, on a day that is neither today nor yesterday for the job.
@example(events=[("day", 0, 0), ("refresh", 0, 0), ("miss", 0, 0)])
# A correction to a day the job has already summarised.
@example(events=[("day", 1, 0), ("dose", 1, 0), ("refresh", 0, 0), ("wait", 0, 50), ("correct_to_zero", 1, 0)])
# An interview changed after the job summarised it becomes the episode's first: every follow-up changes.
@example(
    events=[
        ("interview", 0, 5),
        ("interview", 0, 20),
        ("interview", 0, 40),
        ("refresh", 0, 0),
        ("edit_interview", 0, 2),
    ]
)
# An interview moved to the patient's next episode: both episodes change.
@example(
    events=[
        ("interview", 1, 3),
        ("interview", 1, 4),
        ("interview", 1, 8),
        ("discharge", 1, 0),
        ("readmit", 1, 0),
        ("refresh", 0, 0),
        ("edit_interview", 1, 1),
    ]
)
# The first interview deleted (the admin): its follow-ups lose their start; the job recomputes the episode.
@example(
    events=[
        ("interview", 2, 9),
        ("interview", 2, 30),
        ("interview", 2, 31),
        ("refresh", 0, 0),
        ("delete_interview", 2, 0),
    ]
)
def test_summary_tables_equal_a_full_recomputation_after_any_sequence(events, clinic, nurse, second_nurse, prescriber):
    try:
        with transaction.atomic():
            run(events, clinic=clinic, nurse=nurse, witness=second_nurse, prescriber=prescriber)
            raise Rollback
    except Rollback:
        pass


def interview(patient, episode, day, n: int, *, recorded_by) -> OutcomeInterview:
    """A TOP interview (not saved) whose answers vary with `n`: every measure of the statistics moves."""
    answers = dict.fromkeys(OutcomeInterview.DAY_FIELDS, 0) | {
        "heroin_days": n % 29,
        "shoplifting_days": n % 3,
        "selling_drugs_days": n % 5 // 4,
        "paid_work_days": n % 7 // 3,
        "education_days": n % 2,
    }
    return OutcomeInterview(
        patient=patient,
        episode=episode,
        interviewed_on=day,
        **answers,
        psychological_health=n % 21,
        physical_health=(n + 7) % 21,
        quality_of_life=(n + 13) % 21,
        shared_equipment=False,
        other_theft=n % 11 == 0,
        assault=False,
        acute_housing_problem=n % 4 == 0,
        at_risk_of_eviction=n % 6 == 0,
        recorded_by=recorded_by,
    )


def run(events, *, clinic, nurse, witness, prescriber):
    services.refresh_changed(now=START)  # the job's first run: every day, and its watermarks
    patients = [PatientFactory(clinic=clinic, episode__started_on=D(2026, 3, 1)) for _ in range(3)]
    rxs = [PrescriptionFactory(patient=p, prescriber=prescriber, starts_on=D(2026, 3, 1)) for p in patients]
    now = START
    next_day = [D(2026, 3, 18)] * 3
    for kind, who, n in events:
        rx = rxs[who]
        slots = list(Slot.objects.filter(patient=rx.patient).order_by("date", "session"))
        open_slots = [s for s in slots if s.status == SlotStatus.SCHEDULED]
        doses = list(Administration.objects.filter(patient=rx.patient, corrected_by__isnull=True, dose_mg__gt=0))
        discharged = Episode.objects.filter(patient=rx.patient, ended_on__isnull=False).exists()
        if kind == "day" and not discharged:
            # New slots: a morning and an afternoon (the slot job makes them a day ahead).
            day = next_day[who]
            next_day[who] = day + datetime.timedelta(days=1)
            history.slot(rx, day, "morning")
            history.slot(rx, day, "afternoon")
        elif kind in ("dose", "partial") and open_slots:
            slot = open_slots[n % len(open_slots)]
            history.dose(slot, 100 if kind == "dose" else 40, nurse=nurse, witness=witness)
        elif kind in ("correct", "correct_to_zero") and doses:
            # S10: a correction, maybe days later, to any past day.
            original = doses[n % len(doses)]
            history.correct(
                original, 0 if kind == "correct_to_zero" else 70, author=witness, witness=nurse, recorded_at=now
            )
        elif kind in ("miss", "withhold", "refuse") and open_slots:
            slot = open_slots[n % len(open_slots)]
            status = {"miss": SlotStatus.MISSED, "withhold": SlotStatus.WITHHELD, "refuse": SlotStatus.REFUSED}[kind]
            Slot.objects.filter(pk=slot.pk).update(status=status, status_changed_at=now)
        elif kind == "hold" and len(open_slots) >= 2 and not Hold.objects.filter(patient=rx.patient, cleared_at=None):
            # S7: the run of missed sessions puts the patient on hold; the next session is withheld.
            first, second = open_slots[0], open_slots[1]
            Slot.objects.filter(pk=first.pk).update(status=SlotStatus.MISSED, status_changed_at=now)
            Slot.objects.filter(pk=second.pk).update(status=SlotStatus.WITHHELD, status_changed_at=now)
            Hold.objects.create(
                patient=rx.patient, prescription=rx, since=now, missed_since=first.date, missed_days=3, reason="S7 test"
            )
        elif kind in ("adverse", "naloxone") and doses:
            history.adverse_event(
                doses[n % len(doses)], "overdose" if kind == "adverse" else "naloxone", recorded_by=nurse
            )
        elif kind == "interview" and (episode := Episode.objects.filter(patient=rx.patient, ended_on=None).first()):
            # Any day of the episode's first weeks, the same day as another interview sometimes (order by id).
            interview(rx.patient, episode, D(2026, 3, 1) + datetime.timedelta(days=n), n, recorded_by=nurse).save()
        elif kind in ("edit_interview", "delete_interview") and (
            interviews := list(OutcomeInterview.objects.filter(patient=rx.patient).order_by("pk"))
        ):
            # Outside the services (only the admin can): the change history still records it.
            chosen = interviews[n % len(interviews)]
            if kind == "delete_interview":
                chosen.delete()
            else:
                chosen.interviewed_on = D(2026, 2, 20) + datetime.timedelta(days=n)
                chosen.heroin_days = 28 - n % 29
                chosen.other_theft = not chosen.other_theft
                # Filed under the wrong episode: moved to the patient's other one, when re-admitted.
                chosen.episode = Episode.objects.filter(patient=rx.patient).exclude(pk=chosen.episode_id).first() or (
                    chosen.episode
                )
                chosen.save()
        elif kind == "readmit" and discharged and not Episode.objects.filter(patient=rx.patient, ended_on=None):
            Episode.objects.create(patient=rx.patient, clinic=rx.patient.clinic, started_on=now.date())
        elif kind == "discharge" and not discharged:
            # Discharge stops the prescription: its open slots are cancelled (dosing._move_open_slots).
            Episode.objects.filter(patient=rx.patient, ended_on=None).update(
                ended_on=now.date(), discharge_reason="dropped_out"
            )
            Slot.objects.filter(prescription=rx, status=SlotStatus.SCHEDULED).update(
                status=SlotStatus.CANCELLED, status_changed_at=now
            )
        elif kind == "refresh":
            # No overlap: the watermarks, today/yesterday and the recent status changes alone must find every day.
            services.refresh_changed(now=now, overlap_ids=0)
        elif kind == "wait":
            now += datetime.timedelta(minutes=20 * n)
    now += datetime.timedelta(minutes=5)
    services.refresh_changed(now=now, overlap_ids=0)
    assert summarised() == recomputed()


def test_a_correction_weeks_later_refreshes_the_day_of_the_original_dose(clinic, nurse, second_nurse, prescriber):
    patient = PatientFactory(clinic=clinic, episode__started_on=D(2026, 1, 5))
    rx = PrescriptionFactory(patient=patient, prescriber=prescriber)
    original = history.dose(history.slot(rx, D(2026, 2, 2)), 100, nurse=nurse, witness=second_nurse)
    services.refresh_changed(now=datetime.datetime(2026, 2, 3, 12, 0, tzinfo=UTC))
    assert DailyDoseStats.objects.get(date=D(2026, 2, 2)).total_mg == 100

    later = datetime.datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # far outside today/yesterday and the 14 recent days
    history.correct(original, 60, author=second_nurse, witness=nurse, recorded_at=later)
    services.refresh_changed(now=later)

    assert DailyDoseStats.objects.get(date=D(2026, 2, 2)).total_mg == 60
    assert DailySessionStats.objects.get(date=D(2026, 2, 2)).partial == 1


def test_refreshing_twice_changes_nothing(dosing_history):
    before = summarised()
    services.refresh_summaries()
    services.refresh_summaries(since=D(2026, 3, 1), until=D(2026, 4, 30))
    assert summarised() == before == recomputed()


def test_the_job_refreshes_the_clinic_local_today_at_a_clock_change(clinic, nurse, second_nurse, prescriber):
    # 23:30 UTC on Sunday 25 Oct 2026 is already Monday in London? No: GMT again, so still the 25th; at 23:30 UTC
    # on 28 Mar it is 00:30 on Sunday 29 Mar in London (BST starts at 01:00 GMT): the clinic's today is the 29th.
    services.refresh_changed(now=datetime.datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    patient = PatientFactory(clinic=clinic, episode__started_on=D(2026, 1, 5))
    rx = PrescriptionFactory(patient=patient, prescriber=prescriber)
    slot = history.slot(rx, D(2026, 3, 28), "afternoon")
    services.refresh_changed(now=datetime.datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    # The slot's status changes without a new row (S11 closes it as missed at 18:00 local on the 28th) ...
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.MISSED, status_changed_at=slot.window_end)
    services.refresh_changed(now=datetime.datetime(2026, 3, 28, 23, 30, tzinfo=UTC))
    assert DailySessionStats.objects.get(date=D(2026, 3, 28)).missed == 1


def test_the_job_finds_interviews_written_without_a_change_history(clinic, nurse):
    # A bulk load (as seed_scale's) writes no history rows: the interview ids above the last one seen find them.
    services.refresh_changed(now=START)
    patient = PatientFactory(clinic=clinic, episode__started_on=D(2026, 3, 1))
    episode = patient.episodes.get()
    OutcomeInterview.objects.bulk_create(
        [interview(patient, episode, day, n, recorded_by=nurse) for day, n in ((D(2026, 3, 1), 3), (D(2026, 6, 1), 9))]
    )
    assert not OutcomeInterview.history.exists()

    services.refresh_changed(now=START + datetime.timedelta(minutes=5), overlap_ids=0)

    assert OutcomeFollowUp.objects.get().next_interviewed_on is None
    assert summarised() == recomputed()
