"""Keeping the summary tables in step with the raw records (the only writes of this app).

Every refresh recomputes whole clinic-local days from the raw slots, administrations and
adverse events and replaces that day's summary rows (delete + insert in one transaction), so
running it twice, late, or over a day that did not change gives the same rows: it is
idempotent, and a summary row is always a pure function of the raw records of its day. The
outcome rows (OutcomeFollowUp) are replaced the same way a whole episode at a time: each is a
pure function of the outcome interviews of its episode. The monthly rows are the sums of the
daily rows of their calendar month, replaced in the same transaction as any day of the month;
the monthly outcome rows (MonthlyOutcomeStats) the sums of the follow-ups of their clinic and
month, replaced for the whole clinic in the same transaction as any of its episodes' follow-ups.

What can change a past day, and how the job (`refresh_changed`) finds it:
- a new slot, administration or adverse event: rows with an id above the last one seen (the
  primary-key index, no scan of the big tables). The OVERLAP_IDS ids below the watermark are
  looked at again, and counted when written since shortly before the last run, so that a
  transaction that took its id early but committed late is not missed.
- a correction (S10) is a new Administration row pointing at the slot of the original dose: its
  slot's day (the original day, however late the correction is made) is refreshed.
- a slot status change without a new row (a nurse withholds, S11 closes it as missed, a stopped
  prescription cancels open slots): those happen to open slots of today or the last few days;
  the job refreshes today and yesterday of every clinic, plus the days of slots whose status
  changed since the last run within the last RECENT_DAYS days.
- a new outcome interview: an id above the last one seen, as for slots; an interview changed or
  deleted afterwards (only the admin can): its change-history row, above the last history id
  seen. The episodes of those interviews are recomputed, and any episode whose rows still name
  such an interview (an interview moved to another episode).
- and as a safety net, once a day it recomputes the last NIGHTLY_DAYS days of every clinic and
  the outcome rows of every episode (a few tens of thousands of interviews: seconds).
The job runs every few minutes (CELERY_BEAT_SCHEDULE); runs are serialised by a row lock.
"""

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from operator import itemgetter

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Count, F, Max, Q, Sum, Value, When
from django.utils import timezone

from clinics.models import Clinic
from dosing.models import OPEN_SLOT_STATUSES, Administration, AdverseEvent, AdverseEventKind, Slot, SlotStatus
from patients.models import Episode, OutcomeInterview

from .models import (
    ClinicCosts,
    DailyDoseStats,
    DailySessionStats,
    MonthlyDoseStats,
    MonthlyOutcomeStats,
    MonthlySessionStats,
    OffenceType,
    OffenceUnitCost,
    OutcomeFollowUp,
    RefreshState,
)
from .selectors import SESSION_COLUMNS, TRUNC, Granularity, add_months, period_start

OVERLAP_IDS = 1000
RECENT_DAYS = 14
NIGHTLY_DAYS = 35
FULL_REFRESH_EVERY = timedelta(hours=24)
STATE_NAME = "summaries"

STATUS_COLUMNS = {
    "given": [SlotStatus.GIVEN],
    "partial": [SlotStatus.PARTIAL],
    "withheld": [SlotStatus.WITHHELD],
    "refused": [SlotStatus.REFUSED],
    "missed": [SlotStatus.MISSED],
    "cancelled": [SlotStatus.CANCELLED],
    "open": list(OPEN_SLOT_STATUSES),
}


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _scope(prefix: str, *, clinic_ids=None, since: date | None = None, until: date | None = None, days=None) -> Q:
    """Filter on the slot's clinic and clinic-local date; `days` = dates of one clinic (clinic_ids has it)."""
    q = Q()
    if clinic_ids is not None:
        q &= Q(**{f"{prefix}clinic_id__in": list(clinic_ids)})
    if since is not None:
        q &= Q(**{f"{prefix}date__gte": since})
    if until is not None:
        q &= Q(**{f"{prefix}date__lte": until})
    if days is not None:
        q &= Q(**{f"{prefix}date__in": sorted(days)})
    return q


def compute_session_rows(**scope) -> list[DailySessionStats]:
    """The DailySessionStats rows of the scope, computed from the raw slots and adverse events."""
    counts = {
        column: Count("id", filter=Q(status__in=[str(s) for s in statuses]))
        for column, statuses in STATUS_COLUMNS.items()
    }
    rows: dict[tuple, dict] = {}
    for row in (
        Slot.objects.filter(_scope("", **scope))
        .values("clinic_id", "date", "session")
        .annotate(slots=Count("id"), **counts)
        .order_by()
    ):
        rows[(row["clinic_id"], row["date"], row["session"])] = row
    for row in (
        AdverseEvent.objects.filter(_scope("administration__slot__", **scope))
        .values("administration__slot__clinic_id", "administration__slot__date", "administration__slot__session")
        .annotate(
            events=Count("id"),
            naloxone=Count("id", filter=Q(kind=AdverseEventKind.NALOXONE)),
            overdoses=Count("id", filter=Q(kind=AdverseEventKind.OVERDOSE)),
        )
        .order_by()
    ):
        key = (
            row["administration__slot__clinic_id"],
            row["administration__slot__date"],
            row["administration__slot__session"],
        )
        rows[key]["adverse_events"] = row["events"]
        rows[key]["naloxone_uses"] = row["naloxone"]
        rows[key]["overdoses"] = row["overdoses"]
    now = timezone.now()
    return [
        DailySessionStats(
            clinic_id=clinic_id,
            date=day,
            session=session,
            refreshed_at=now,
            **{k: v for k, v in row.items() if k not in ("clinic_id", "date", "session")},
        )
        for (clinic_id, day, session), row in rows.items()
    ]


def compute_dose_rows(**scope) -> list[DailyDoseStats]:
    """The DailyDoseStats rows of the scope: doses in force (not corrected, more than 0 mg) by slot day and drug."""
    now = timezone.now()
    return [
        DailyDoseStats(
            clinic_id=row["slot__clinic_id"],
            date=row["slot__date"],
            drug=row["drug"],
            doses=row["doses"],
            total_mg=row["total_mg"] or Decimal(0),
            patients_dosed=row["patients_dosed"],
            refreshed_at=now,
        )
        for row in (
            Administration.objects.filter(_scope("slot__", **scope), corrected_by__isnull=True, dose_mg__gt=0)
            .values("slot__clinic_id", "slot__date", "drug")
            .annotate(doses=Count("id"), total_mg=Sum("dose_mg"), patients_dosed=Count("patient_id", distinct=True))
            .order_by()
        )
    ]


def _yes(condition: Q) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0))


# The TOP measures of the statistics, from one interview's answers: the columns of OutcomeFollowUp.MEASURES.
TOP_MEASURES = {
    "heroin_days": F("heroin_days"),
    "crime_days": F("shoplifting_days") + F("selling_drugs_days"),
    "psychological_health": F("psychological_health"),
    "physical_health": F("physical_health"),
    "quality_of_life": F("quality_of_life"),
    "paid_work_days": F("paid_work_days"),
    "any_crime": _yes(Q(shoplifting_days__gt=0) | Q(selling_drugs_days__gt=0) | Q(other_theft=True) | Q(assault=True)),
    "housing_problem": _yes(Q(acute_housing_problem=True) | Q(at_risk_of_eviction=True)),
    "in_work_or_education": _yes(Q(paid_work_days__gt=0) | Q(education_days__gt=0)),
    "other_opiate_days": F("other_opiate_days"),
    "crack_days": F("crack_days"),
    "injected_days": F("injected_days"),
    "shoplifting_days": F("shoplifting_days"),
    "selling_drugs_days": F("selling_drugs_days"),
    "other_theft": _yes(Q(other_theft=True)),
    "assault": _yes(Q(assault=True)),
}


def compute_outcome_rows(*, episode_ids=None) -> list[OutcomeFollowUp]:
    """The OutcomeFollowUp rows of these episodes (None: every episode), computed from their raw interviews.

    An episode's interviews in order (date, then id): the first is the start; each later one is a row
    carrying the start's measures and the date of the interview that follows it, and whether that one
    falls in a later calendar period of each granularity (so this one is the latest of its period).
    """
    interviews = OutcomeInterview.objects.all()
    if episode_ids is not None:
        interviews = interviews.filter(episode_id__in=list(episode_ids))
    rows = interviews.order_by("episode_id", "interviewed_on", "id").values_list(
        "episode_id", "id", "interviewed_on", *TOP_MEASURES.values()
    )
    now = timezone.now()
    result = []
    for episode_id, of_episode in groupby(rows, key=itemgetter(0)):
        first, *follow_ups = of_episode
        start = {f"start_{name}": value for name, value in zip(TOP_MEASURES, first[3:], strict=True)}
        # Each follow-up with the one after it (None after the latest; nothing when there is no follow-up).
        for row, following in zip(follow_ups, [*follow_ups[1:], None], strict=False):
            result.append(
                OutcomeFollowUp(
                    interview_id=row[1],
                    episode_id=episode_id,
                    start_interview_id=first[1],
                    interviewed_on=row[2],
                    next_interviewed_on=following[2] if following else None,
                    **{
                        f"latest_of_{granularity}": following is None
                        or period_start(following[2], granularity) > period_start(row[2], granularity)
                        for granularity in Granularity.VALUES
                    },
                    refreshed_at=now,
                    **dict(zip(TOP_MEASURES, row[3:], strict=True)),
                    **start,
                )
            )
    return result


def _roll_up_outcomes(*, clinic_ids=None) -> None:
    """Replace the MonthlyOutcomeStats rows of these clinics (None: all) by the sums of their follow-ups.

    Whole clinics (a few thousand follow-ups each), not the months of the episodes recomputed: deleting an
    interview deletes its follow-up rows at once (cascade), so the months it was in are no longer known here.
    """
    follow_ups = OutcomeFollowUp.objects.all()
    stale = MonthlyOutcomeStats.objects.all()
    if clinic_ids is not None:
        clinic_ids = list(clinic_ids)
        follow_ups = follow_ups.filter(episode__clinic_id__in=clinic_ids)
        stale = stale.filter(clinic_id__in=clinic_ids)
    stale.delete()
    measures = [*MonthlyOutcomeStats.MEASURES, *(f"start_{name}" for name in MonthlyOutcomeStats.MEASURES)]
    now = timezone.now()
    rows = []
    for latest_of in MonthlyOutcomeStats.LatestOf.values:
        for row in (
            follow_ups.filter(**{f"latest_of_{latest_of}": True})
            .annotate(month=TRUNC[Granularity.MONTH]("interviewed_on"))
            .values("episode__clinic_id", "month")
            .annotate(n=Count("id"), **{name: Sum(name) for name in measures})
            .order_by()
        ):
            clinic_id = row.pop("episode__clinic_id")
            rows.append(MonthlyOutcomeStats(clinic_id=clinic_id, latest_of=latest_of, refreshed_at=now, **row))
    MonthlyOutcomeStats.objects.bulk_create(rows, batch_size=5000)


def _replace_outcomes(*, episode_ids=None) -> int:
    """Recompute the outcome rows of these episodes (None: all), and the monthly sums of their clinics.
    Caller holds the state lock."""
    RefreshState.objects.filter(name=STATE_NAME).update(version=F("version") + 1)
    stale = OutcomeFollowUp.objects.all()
    clinic_ids = None
    if episode_ids is not None:
        episode_ids = list(episode_ids)
        stale = stale.filter(episode_id__in=episode_ids)
        clinic_ids = set(Episode.objects.filter(pk__in=episode_ids).values_list("clinic_id", flat=True).order_by())
    stale.delete()
    rows = compute_outcome_rows(episode_ids=episode_ids)
    OutcomeFollowUp.objects.bulk_create(rows, batch_size=5000)
    _roll_up_outcomes(clinic_ids=clinic_ids)
    return len(rows)


def _lock_state() -> RefreshState:
    RefreshState.objects.get_or_create(name=STATE_NAME)
    return RefreshState.objects.select_for_update().get(name=STATE_NAME)


def _months_of(*, clinic_ids=None, since: date | None = None, until: date | None = None, days=None) -> tuple[Q, Q]:
    """The whole calendar months that hold the days of a scope: (filter of daily rows, filter of monthly rows)."""
    if days is not None:
        months = sorted({day.replace(day=1) for day in days})
        daily = Q(pk__in=[])  # (no row) or each month's days
        for month in months:
            daily |= Q(date__gte=month, date__lt=add_months(month, 1))
        monthly = Q(month__in=months)
    else:
        daily, monthly = Q(), Q()
        if since is not None:
            daily &= Q(date__gte=since.replace(day=1))
            monthly &= Q(month__gte=since.replace(day=1))
        if until is not None:
            daily &= Q(date__lt=add_months(until.replace(day=1), 1))
            monthly &= Q(month__lte=until.replace(day=1))
    if clinic_ids is not None:
        daily &= Q(clinic_id__in=list(clinic_ids))
        monthly &= Q(clinic_id__in=list(clinic_ids))
    return daily, monthly


def _roll_up(**scope) -> None:
    """Replace the monthly rows of the months that hold the scope's days by the sums of their daily rows."""
    daily, monthly = _months_of(**scope)
    MonthlySessionStats.objects.filter(monthly).delete()
    MonthlyDoseStats.objects.filter(monthly).delete()
    now = timezone.now()
    month = TRUNC[Granularity.MONTH]("date")
    sessions = (
        DailySessionStats.objects.filter(daily)
        .annotate(month=month)
        .values("clinic_id", "month")
        .annotate(**{column: Sum(column) for column in SESSION_COLUMNS})
        .order_by()
    )
    MonthlySessionStats.objects.bulk_create(
        [MonthlySessionStats(refreshed_at=now, **row) for row in sessions], batch_size=5000
    )
    doses = (
        DailyDoseStats.objects.filter(daily)
        .annotate(month=month)
        .values("clinic_id", "month", "drug")
        .annotate(doses=Sum("doses"), total_mg=Sum("total_mg"), patients_dosed=Sum("patients_dosed"))
        .order_by()
    )
    MonthlyDoseStats.objects.bulk_create([MonthlyDoseStats(refreshed_at=now, **row) for row in doses], batch_size=5000)


def _replace(**scope) -> int:
    RefreshState.objects.filter(name=STATE_NAME).update(version=F("version") + 1)
    DailySessionStats.objects.filter(_scope("", **scope)).delete()
    DailyDoseStats.objects.filter(_scope("", **scope)).delete()
    sessions = compute_session_rows(**scope)
    DailySessionStats.objects.bulk_create(sessions, batch_size=5000)
    DailyDoseStats.objects.bulk_create(compute_dose_rows(**scope), batch_size=5000)
    _roll_up(**scope)
    return len(sessions)


def refresh_summaries(*, clinic: Clinic | None = None, since: date | None = None, until: date | None = None) -> int:
    """Recompute every clinic-local day from `since` to `until` (inclusive; open ends mean all days), and
    the outcome rows of every episode of the clinic (of all clinics without one): those are per episode.

    Idempotent: the rows are replaced by a fresh computation in one transaction.
    Returns the number of session rows written.
    """
    with transaction.atomic():
        _lock_state()  # one refresh at a time: two concurrent replacements of a day would collide
        episodes = None if clinic is None else Episode.objects.filter(clinic=clinic).values_list("id", flat=True)
        _replace_outcomes(episode_ids=episodes)
        return _replace(clinic_ids=None if clinic is None else [clinic.pk], since=since, until=until)


def refresh_days(days: dict[int, set[date]]) -> int:
    """Recompute the given days of each clinic ({clinic_id: {dates}}). Caller holds the state lock."""
    written = 0
    for clinic_id, dates in days.items():
        if dates:
            written += _replace(clinic_ids=[clinic_id], days=dates)
    return written


def _days_of(queryset, prefix: str, into: dict[int, set[date]]) -> int:
    """Add the (clinic, date) of each row to `into`; return the highest id seen (0 when none)."""
    highest = 0
    for clinic_id, day, pk in queryset.values_list(f"{prefix}clinic_id", f"{prefix}date", "id").order_by():
        into[clinic_id].add(day)
        highest = max(highest, pk)
    return highest


def _episodes_of(queryset, key: str, episodes: set[int], interviews: set[int]) -> int:
    """Add the episode and interview of each row to the sets; return the highest `key` seen (0 when none)."""
    highest = 0
    for episode_id, interview_id, pk in queryset.values_list("episode_id", "id", key).order_by():
        episodes.add(episode_id)
        interviews.add(interview_id)
        highest = max(highest, pk)
    return highest


def refresh_changed(*, now: datetime | None = None, overlap_ids: int = OVERLAP_IDS) -> dict:
    """The beat job: recompute the days touched since the last run (see the module docstring).

    `overlap_ids`: how far below the last ids seen to look again (late commits); the tests set 0 to
    check that the watermarks alone find every change.

    The first run, and one run a day, recomputes the last NIGHTLY_DAYS days of every clinic (the
    first run: every day) and the outcome rows of every episode. Returns what it did, for the log.
    """
    now = _now(now)
    with transaction.atomic():
        state = _lock_state()
        if state.last_run_at is None:
            _replace_outcomes()
            written = _replace()
            mark_refreshed(now=now)
            return {"full": True, "rows": written}

        days: dict[int, set[date]] = defaultdict(set)
        clinics = list(Clinic.objects.all())
        for clinic in clinics:
            today = timezone.localdate(now, clinic.zone)
            days[clinic.pk].update({today, today - timedelta(days=1)})
        # Rows above the watermarks, and rows just below them written since shortly before the last run
        # (a transaction that took its id early and committed late); the primary-key index serves both.
        late = state.last_run_at - timedelta(minutes=10)

        def new(model, last_id, written_at, key="id"):
            return model.objects.filter(**{f"{key}__gt": last_id - overlap_ids}).filter(
                Q(**{f"{key}__gt": last_id}) | Q(**{f"{written_at}__gte": late})
            )

        marks = {
            "last_slot_id": _days_of(new(Slot, state.last_slot_id, "created_at"), "", days),
            "last_administration_id": _days_of(
                new(Administration, state.last_administration_id, "recorded_at"), "slot__", days
            ),
            "last_adverse_event_id": _days_of(
                new(AdverseEvent, state.last_adverse_event_id, "recorded_at"), "administration__slot__", days
            ),
        }
        episodes: set[int] = set()
        interviews: set[int] = set()
        marks["last_interview_id"] = _episodes_of(
            new(OutcomeInterview, state.last_interview_id, "recorded_at"), "id", episodes, interviews
        )
        marks["last_interview_history_id"] = _episodes_of(
            new(OutcomeInterview.history.model, state.last_interview_history_id, "history_date", key="history_id"),
            "history_id",
            episodes,
            interviews,
        )
        # An interview moved to another episode, or deleted: the episode it left still has rows naming it.
        episodes.update(
            OutcomeFollowUp.objects.filter(Q(interview_id__in=interviews) | Q(start_interview_id__in=interviews))
            .values_list("episode_id", flat=True)
            .order_by()
        )
        # Status changes without a new row happen to recent open slots; the (clinic, date) index serves this.
        for clinic in clinics:
            recent = timezone.localdate(now, clinic.zone) - timedelta(days=RECENT_DAYS)
            changed = Slot.objects.filter(clinic=clinic, date__gte=recent, status_changed_at__gte=late)
            days[clinic.pk].update(changed.values_list("date", flat=True).distinct().order_by())
        full = state.last_full_run_at is None or now - state.last_full_run_at >= FULL_REFRESH_EVERY
        if full:
            for clinic in clinics:
                today = timezone.localdate(now, clinic.zone)
                days[clinic.pk].update(today - timedelta(days=n) for n in range(NIGHTLY_DAYS + 1))
        written = refresh_days(days)
        if full:
            _replace_outcomes()
        elif episodes:
            _replace_outcomes(episode_ids=episodes)
        update = {key: max(value, getattr(state, key)) for key, value in marks.items()}
        update["last_run_at"] = now
        if full:
            update["last_full_run_at"] = now
        RefreshState.objects.filter(pk=state.pk).update(**update)
        return {"full": full, "days": sum(len(d) for d in days.values()), "rows": written, "episodes": len(episodes)}


def mark_refreshed(*, now: datetime | None = None) -> None:
    """Record that every day is up to date (after a full refresh): the job carries on from the current ids."""
    now = _now(now)
    with transaction.atomic():
        state = _lock_state()
        RefreshState.objects.filter(pk=state.pk).update(
            last_slot_id=Slot.objects.aggregate(m=Max("id"))["m"] or 0,
            last_administration_id=Administration.objects.aggregate(m=Max("id"))["m"] or 0,
            last_adverse_event_id=AdverseEvent.objects.aggregate(m=Max("id"))["m"] or 0,
            last_interview_id=OutcomeInterview.objects.aggregate(m=Max("id"))["m"] or 0,
            last_interview_history_id=OutcomeInterview.history.aggregate(m=Max("history_id"))["m"] or 0,
            last_run_at=now,
            last_full_run_at=now,
        )


def set_clinic_costs(
    *, clinic: Clinic, by, cost_per_patient_day, cost_source: str, offences: dict, now: datetime | None = None
) -> ClinicCosts:
    """Set a clinic's cost per patient-day and the unit cost of each offence type, each with its source.

    `offences`: {OffenceType value: (unit cost, source)} for every offence type. Refuses (ValidationError
    naming the field) a cost that is not positive or a figure without a source; writes nothing then.
    """
    now = _now(now)
    errors = {}
    if cost_per_patient_day is None or Decimal(cost_per_patient_day) <= 0:
        errors["cost_per_patient_day"] = "Enter the cost of one patient-day of treatment, more than 0."
    if not (cost_source or "").strip():
        errors["cost_source"] = "Say where the cost per patient-day comes from."
    for offence in OffenceType.values:
        unit_cost, source = offences.get(offence, (None, ""))
        if unit_cost is None or Decimal(unit_cost) < 0:
            errors[f"unit_cost_{offence}"] = "Enter the unit cost of this offence (0 or more)."
        if not (source or "").strip():
            errors[f"source_{offence}"] = "Say where the unit cost of this offence comes from."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        costs, _ = ClinicCosts.objects.select_for_update().update_or_create(
            clinic=clinic,
            defaults={
                "cost_per_patient_day": cost_per_patient_day,
                "cost_source": cost_source.strip(),
                "updated_by": by,
                "updated_at": now,
            },
        )
        for offence in OffenceType.values:
            unit_cost, source = offences[offence]
            OffenceUnitCost.objects.update_or_create(
                costs=costs, offence=offence, defaults={"unit_cost": unit_cost, "source": source.strip()}
            )
    return costs
