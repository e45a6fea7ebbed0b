"""The TOP figures the dashboard reads from the summaries agree with a naive computation from the raw interviews.

`statistics()` reads the TOP figures by period (whole months from their monthly sums, the rest from the
follow-up summary), of the whole range and the paired change (issue 15). A property-based test makes random
episodes (some ended, some with interviews after their end) and interviews in two clinics, then for many filter
sets (each clinic and both, ranges cut anywhere, week, month and quarter) compares those figures with a
computation written here from the raw interview rows: for each episode, its first interview against its last
one in the period or range. Another test does the same after a refresh, and again after interviews are
recorded, moved, edited and deleted and the job has run.
"""

import datetime
import random

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patients.models import Episode, OutcomeInterview
from reports import services
from reports.models import OutcomeFollowUp
from reports.selectors import SHOWN_MEASURES, TOP_CHANGE, OutcomeFigures, PairedChange, periods, statistics
from tests.factories import ClinicFactory, PatientFactory
from tests.reports.test_summaries import top

pytestmark = pytest.mark.django_db
D = datetime.date
FIRST = D(2025, 12, 1)
SPAN = 200  # days of history


def measures(interview) -> dict:
    """Every TOP measure of the statistics from one raw interview (days, ratings, yes as 1)."""
    return dict(zip(OutcomeFollowUp.MEASURES, top(interview), strict=True))


def naive_period(episodes, first_day, last_day, start) -> OutcomeFigures:
    """Episodes open at the range's start: each one's first interview against its last follow-up in the days."""
    n, sums = 0, {name: [0, 0] for name in SHOWN_MEASURES}
    for ended_on, interviews in episodes:
        if ended_on is not None and ended_on < start:
            continue
        inside = [i for i in interviews[1:] if first_day <= i.interviewed_on <= last_day]
        if not inside:
            continue
        n += 1
        entry, latest = measures(interviews[0]), measures(inside[-1])
        for name in SHOWN_MEASURES:
            sums[name][0] += entry[name]
            sums[name][1] += latest[name]
    return OutcomeFigures(n=n, sums=sums) if n else OutcomeFigures()


def naive_paired(episodes, start, end) -> dict:
    """Every episode (whatever became of it) with a follow-up in the range: its first against its last there."""
    paired = {name: PairedChange() for name in TOP_CHANGE}
    for _, interviews in episodes:
        inside = [i for i in interviews[1:] if start <= i.interviewed_on <= end]
        if not inside:
            continue
        entry, latest = measures(interviews[0]), measures(inside[-1])
        for name, (_, _, lower_is_better) in TOP_CHANGE.items():
            change = paired[name]
            change.n += 1
            change.entry += entry[name]
            change.latest += latest[name]
            fell, rose = latest[name] < entry[name], latest[name] > entry[name]
            change.improved += fell if lower_is_better else rose
            change.worse += rose if lower_is_better else fell
    return paired


def _make(clinic, keyworker, rng, episodes):
    """Episodes (start offset, length or None, interview offsets) with random measures; bulk, like a busy year."""
    rows = []
    for start, length, offsets in episodes:
        patient = PatientFactory(clinic=clinic, episode=False)
        started_on = FIRST + datetime.timedelta(days=start)
        ended_on = None if length is None else started_on + datetime.timedelta(days=length)
        episode = Episode.objects.create(
            patient=patient,
            clinic=clinic,
            started_on=started_on,
            ended_on=ended_on,
            discharge_reason="dropped_out" if ended_on else "",
        )
        for offset in offsets:  # may fall after the episode's end: the statistics must still agree
            rows.append(
                OutcomeInterview(
                    patient=patient,
                    episode=episode,
                    interviewed_on=started_on + datetime.timedelta(days=offset),
                    heroin_days=rng.choice([0, 3, 14, 28]),
                    other_opiate_days=rng.choice([0, 2, 5]),
                    crack_days=rng.choice([0, 4, 10]),
                    cocaine_days=0,
                    amphetamine_days=0,
                    cannabis_days=0,
                    alcohol_days=0,
                    injected_days=rng.choice([0, 10, 20]),
                    shared_equipment=False,
                    shoplifting_days=rng.choice([0, 0, 3]),
                    selling_drugs_days=rng.choice([0, 2]),
                    other_theft=rng.random() < 0.3,
                    assault=rng.random() < 0.2,
                    psychological_health=rng.choice([5, 10, 15]),
                    physical_health=rng.choice([6, 12]),
                    quality_of_life=rng.choice([7, 14]),
                    paid_work_days=rng.choice([0, 0, 8]),
                    education_days=rng.choice([0, 4]),
                    acute_housing_problem=rng.random() < 0.3,
                    at_risk_of_eviction=rng.random() < 0.1,
                    recorded_by=keyworker,
                )
            )
    OutcomeInterview.objects.bulk_create(rows)


episode_plans = st.lists(
    st.tuples(
        st.integers(0, 120),  # start, days after FIRST
        st.none() | st.integers(10, 150),  # length, or still open
        st.lists(st.integers(0, 90), min_size=1, max_size=5),  # interviews, days after the start
    ),
    max_size=6,
)
filter_sets = st.lists(
    st.tuples(st.integers(0, SPAN), st.integers(0, SPAN), st.sampled_from(["week", "month", "quarter"])),
    min_size=6,
    max_size=10,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(episode_plans, episode_plans, filter_sets, st.integers(0, 1000))
def test_top_figures_by_period_range_and_pairs_agree_with_the_raw_interviews(keyworker, one, two, filters, seed):
    rng = random.Random(seed)
    with transaction.atomic():
        clinics = [ClinicFactory(name="Agreement clinic A", code="agra"), ClinicFactory(name="Agreement clinic B")]
        _make(clinics[0], keyworker, rng, one)
        _make(clinics[1], keyworker, rng, two)
        services.refresh_summaries()
        ranges = [(FIRST + datetime.timedelta(days=a), FIRST + datetime.timedelta(days=b), g) for a, b, g in filters]
        assert_agreement(clinics, ranges)
        transaction.set_rollback(True)


def assert_agreement(clinics, ranges) -> None:
    """The TOP figures of `statistics()` equal the naive ones for each (day, day, granularity), per clinic and all."""
    raw = {clinic.pk: [] for clinic in clinics}
    for episode in Episode.objects.filter(clinic__in=clinics):
        interviews = sorted(OutcomeInterview.objects.filter(episode=episode), key=lambda i: (i.interviewed_on, i.pk))
        raw[episode.clinic_id].append((episode.ended_on, interviews))
    for a, b, granularity in ranges:
        start, end = sorted((a, b))
        for chosen in [[clinic] for clinic in clinics] + [clinics]:
            episodes = [episode for clinic in chosen for episode in raw[clinic.pk]]
            stats = statistics(clinics=chosen, start=start, end=end, granularity=granularity, as_of=end)
            where = (start, end, granularity, [clinic.name for clinic in chosen])
            assert stats.top_change == naive_paired(episodes, start, end), where
            assert stats.outcomes_total == naive_period(episodes, start, end, start), where
            expected = [naive_period(episodes, p.start, p.end, start) for p in periods(start, end, granularity)]
            assert stats.outcomes == expected, where


# Ranges that cut months and quarters anywhere, hold whole ones, or end on a quarter's last day (the pre-summed
# months of `statistics()` and the follow-ups read around them).
RANGES = [
    (D(2025, 12, 1), D(2026, 6, 30), "month"),
    (D(2025, 12, 1), D(2026, 6, 30), "quarter"),
    (D(2025, 12, 14), D(2026, 5, 17), "month"),
    (D(2025, 12, 14), D(2026, 5, 17), "quarter"),
    (D(2026, 1, 1), D(2026, 3, 31), "quarter"),
    (D(2026, 2, 10), D(2026, 4, 2), "quarter"),
    (D(2026, 1, 5), D(2026, 4, 26), "week"),
    (D(2026, 3, 1), D(2026, 3, 31), "month"),
]


def test_top_figures_agree_with_the_raw_interviews_after_a_refresh_and_after_changes_and_the_next_refresh(keyworker):
    clinics = [ClinicFactory(name="Agreement clinic A", code="agra"), ClinicFactory(name="Agreement clinic B")]
    rng = random.Random(15)
    # Episodes (start offset, length or None, interview offsets): one ends before most ranges start, one has an
    # interview after its end, several have two interviews in one month or quarter.
    _make(clinics[0], keyworker, rng, [(0, 40, [0, 20, 35, 60]), (10, None, [0, 30, 31, 75, 140]), (45, None, [0, 9])])
    _make(clinics[1], keyworker, rng, [(5, 120, [0, 50, 95, 110]), (70, None, [0, 1, 33, 90])])
    services.refresh_changed()  # the job's first run: every episode
    assert_agreement(clinics, RANGES)

    episode = Episode.objects.filter(clinic=clinics[0], ended_on=None).order_by("started_on").first()
    later = sorted(OutcomeInterview.objects.filter(episode=episode), key=lambda i: (i.interviewed_on, i.pk))
    # An interview moved into another month and quarter, with new answers (the admin: a change-history row) ...
    later[2].interviewed_on = D(2026, 4, 20)
    later[2].heroin_days = 1
    later[2].save()
    # ... another deleted, and new ones recorded: in a month with none, and beside one in the same month.
    later[3].delete()
    _make(clinics[1], keyworker, rng, [(100, None, [0, 14, 60])])
    OutcomeInterview.objects.create(
        **{f.attname: getattr(later[1], f.attname) for f in OutcomeInterview._meta.concrete_fields if not f.primary_key}
        | {"interviewed_on": later[1].interviewed_on + datetime.timedelta(days=2), "heroin_days": 0}
    )
    services.refresh_changed(overlap_ids=0)  # only what the watermarks find

    assert_agreement(clinics, RANGES)
