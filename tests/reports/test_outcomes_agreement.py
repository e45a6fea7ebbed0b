"""The TOP figures the dashboard reads in one query agree with a naive computation from the raw interviews.

`statistics()` reads the TOP figures by period, of the whole range and the paired change (issue 15) in one
grouped query over the follow-up summary. A property-based test makes random episodes (some ended, some with
interviews after their end) and interviews in two clinics, then for many filter sets (each clinic and both,
ranges cut anywhere, week, month and quarter) compares those figures with a computation written here from
the raw interview rows: for each episode, its first interview against its last one in the period or range.
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
        raw = {clinic.pk: [] for clinic in clinics}
        for episode in Episode.objects.filter(clinic__in=clinics):
            interviews = sorted(
                OutcomeInterview.objects.filter(episode=episode), key=lambda i: (i.interviewed_on, i.pk)
            )
            raw[episode.clinic_id].append((episode.ended_on, interviews))
        for a, b, granularity in filters:
            start, end = sorted((FIRST + datetime.timedelta(days=a), FIRST + datetime.timedelta(days=b)))
            for chosen in ([clinics[0]], [clinics[1]], clinics):
                episodes = [episode for clinic in chosen for episode in raw[clinic.pk]]
                stats = statistics(clinics=chosen, start=start, end=end, granularity=granularity, as_of=end)
                where = (start, end, granularity, [clinic.name for clinic in chosen])
                assert stats.top_change == naive_paired(episodes, start, end), where
                assert stats.outcomes_total == naive_period(episodes, start, end, start), where
                expected = [naive_period(episodes, p.start, p.end, start) for p in periods(start, end, granularity)]
                assert stats.outcomes == expected, where
        transaction.set_rollback(True)
