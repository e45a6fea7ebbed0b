"""Every statistic of SPEC 7 (onward referrals aside) on the hand-built history of conftest.py, exactly."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from reports.cache import build_report
from reports.selectors import DETAIL, RETENTION_MONTHS, Episodes, add_months, periods, statistics

D = datetime.date
pytestmark = pytest.mark.django_db


def dosing_row(figures):
    return {
        "scheduled": figures.scheduled,
        "given": figures.doses_given,
        "partial": figures.partial,
        "missed": figures.missed,
        "withheld": figures.withheld,
        "refused": figures.refused,
        "open": figures.open,
        "cancelled": figures.cancelled,
        "adverse_events": figures.adverse_events,
        "naloxone_uses": figures.naloxone_uses,
    }


def test_sessions_doses_and_adverse_events_by_month(dosing_history, clinic):
    stats = statistics(clinics=[clinic], start=D(2026, 3, 1), end=D(2026, 4, 30), granularity="month")

    march, april = stats.dosing
    assert [p.label for p in stats.periods] == ["Mar 2026", "Apr 2026"]
    assert dosing_row(march) == {
        "scheduled": 8,
        "given": 5,
        "partial": 1,
        "missed": 1,
        "withheld": 1,
        "refused": 0,
        "open": 1,
        "cancelled": 0,
        "adverse_events": 0,
        "naloxone_uses": 0,
    }
    assert dosing_row(april) == {
        "scheduled": 3,
        "given": 2,
        "partial": 1,
        "missed": 0,
        "withheld": 0,
        "refused": 1,
        "open": 0,
        "cancelled": 1,
        "adverse_events": 2,
        "naloxone_uses": 1,
    }
    # Mean daily dose per patient dosed: mg in force (the correction replaces 100 by 80) over patient-days.
    assert march.doses == {"diamorphine_inj": [Decimal("410.00"), 3]}
    assert april.doses == {"diamorphine_inj": [Decimal("180.00"), 1]}
    assert stats.dosing_total.scheduled == 11
    assert stats.dosing_total.doses_given == 7


def test_a_week_that_crosses_the_spring_clock_change_counts_clinic_local_days(dosing_history, clinic):
    # Monday 23 to Sunday 29 March 2026 (clocks go forward on the 29th, a 23-hour day), then 30 Mar to 5 Apr.
    stats = statistics(clinics=[clinic], start=D(2026, 3, 23), end=D(2026, 4, 5), granularity="week")

    assert [(p.start, p.end) for p in stats.periods] == [
        (D(2026, 3, 23), D(2026, 3, 29)),
        (D(2026, 3, 30), D(2026, 4, 5)),
    ]
    first, second = stats.dosing
    assert (first.scheduled, first.doses_given, first.missed) == (5, 5, 0)
    assert (second.scheduled, second.doses_given, second.missed, second.withheld, second.cancelled) == (6, 2, 1, 1, 1)


def test_a_period_that_crosses_the_autumn_clock_change(dosing_history, clinic):
    # Sunday 25 Oct 2026 is a 25-hour day: it is still one day, in the week of Monday 19 Oct.
    stats = statistics(clinics=[clinic], start=D(2026, 10, 19), end=D(2026, 11, 1), granularity="week")

    assert [(f.scheduled, f.doses_given) for f in stats.dosing] == [(2, 2), (1, 1)]
    assert stats.dosing[0].doses == {"diamorphine_inj": [Decimal("200.00"), 2]}


def test_clinics_are_added_up_and_kept_apart(dosing_history, clinic, other_clinic):
    both = statistics(clinics=[clinic, other_clinic], start=D(2026, 3, 1), end=D(2026, 3, 31), granularity="month")
    darlington = statistics(clinics=[other_clinic], start=D(2026, 3, 1), end=D(2026, 3, 31), granularity="month")

    assert both.dosing[0].scheduled == 9
    assert darlington.dosing[0].scheduled == 1
    assert {c.code: f.scheduled for c, f in both.dosing_by_clinic} == {"mbro": 8, "darl": 1}


def test_patients_in_treatment_new_starts_and_discharges_by_reason(world, clinic):
    stats = statistics(clinics=[clinic], start=D(2025, 1, 1), end=D(2026, 6, 30), granularity="quarter")

    assert [p.label for p in stats.periods] == ["Q1 2025", "Q2 2025", "Q3 2025", "Q4 2025", "Q1 2026", "Q2 2026"]
    assert [f.in_treatment for f in stats.patients] == [3, 3, 2, 3, 5, 4]
    assert [f.new_starts for f in stats.patients] == [3, 0, 1, 1, 3, 0]
    assert [f.discharges for f in stats.patients] == [
        {},
        {"dropped_out": 1, "other": 1},
        {},
        {"custody": 1},
        {"moved_away": 1},
        {"dropped_out": 1},
    ]
    assert stats.patients_total.in_treatment == 7  # P3's two episodes are one patient
    assert stats.patients_total.new_starts == 8  # ... but two starts


def test_retention_of_each_start_cohort_at_3_6_and_12_months(world, clinic):
    stats = statistics(
        clinics=[clinic], start=D(2025, 1, 1), end=D(2026, 6, 30), granularity="quarter", as_of=D(2026, 6, 30)
    )

    cohorts = {c.period.label: (c.started, c.retained) for c in stats.cohorts}
    # Q1 2025: P5 (left 5 days after 3 months), P6 (still in), P7 (left on the day it reached 3 months).
    assert cohorts["Q1 2025"] == (3, {3: 2, 6: 1, 12: 1})
    assert cohorts["Q2 2025"] == (0, {3: 0, 6: 0, 12: 0})
    # Q3 2025: P3's first episode (custody after 11 weeks); 12 months not reached by 30 Jun 2026.
    assert cohorts["Q3 2025"] == (1, {3: 0, 6: 0, 12: None})
    assert cohorts["Q4 2025"] == (1, {3: 1, 6: 0, 12: None})
    # Q1 2026: P1 and P3 (re-start) still in at 3 months, P2 left after 6 weeks; 6 months not reached by all.
    assert cohorts["Q1 2026"] == (3, {3: 2, 6: None, 12: None})
    assert cohorts["Q2 2026"] == (0, {3: None, 6: None, 12: None})


def test_retention_is_being_in_treatment_the_day_n_months_after_the_start_for_every_length_of_stay():
    """Worked out once per episode with shortcuts (28 to 31 days a month): the same as the definition, on every
    day of a leap year and a plain one, each month's last days, and stays from 0 to 400 days."""
    rows = [
        (1, started_on, None if length is None else started_on + datetime.timedelta(days=length), "completed", 1)
        for started_on in [D(2024, 1, 1) + datetime.timedelta(days=n) for n in range(731)]
        for length in (None, 0, 1, 27, 84, 85, 89, 90, 91, 92, 93, 181, 182, 183, 184, 365, 366, 372, 373, 400)
    ]

    episodes = Episodes.of(sorted(rows, key=lambda row: row[1]))

    for months in RETENTION_MONTHS:
        expected = [
            int(ended_on is None or ended_on > add_months(started_on, months))
            for _, started_on, ended_on, *_ in episodes.rows
        ]
        assert list(episodes.still_in[months]) == expected


def test_top_outcomes_compare_each_episodes_first_interview_with_its_latest(outcome_history, clinic):
    stats = statistics(clinics=[clinic], start=D(2026, 1, 1), end=D(2026, 6, 30), granularity="quarter")

    q1, q2 = stats.outcomes
    assert q1.n == 0  # P1's and P3's interviews in Q1 are their first; P2 has no follow-up
    assert q2.n == 2
    assert q2.sums["heroin_days"] == [20 + 28, 10 + 14]
    assert q2.sums["crime_days"] == [6 + 6, 2 + 0]
    assert q2.sums["any_crime"] == [2, 1]
    assert q2.sums["housing_problem"] == [2, 1]
    assert q2.sums["paid_work_days"] == [0, 4]
    assert q2.sums["in_work_or_education"] == [0, 1]
    assert q2.sums["psychological_health"] == [8 + 6, 12 + 10]
    # Over the whole range the latest interview of each is the same ones (5 Jul is after the range).
    assert stats.outcomes_total.n == 2
    assert stats.outcomes_total.sums["heroin_days"] == [48, 24]


def test_referrals_in_by_source_and_how_many_started(referral_history, clinic, other_clinic):
    stats = statistics(clinics=[clinic], start=D(2026, 3, 1), end=D(2026, 4, 30), granularity="month")

    march, april = stats.referrals
    assert (march.by_source, march.received, march.started) == ({"gp": 2, "probation": 1}, 3, 1)
    assert (april.by_source, april.received, april.started) == ({"self": 2}, 2, 1)
    both = statistics(clinics=[clinic, other_clinic], start=D(2026, 3, 1), end=D(2026, 4, 30), granularity="month")
    assert both.referrals_total.received == 6


def test_without_detail_the_report_is_the_whole_one_less_the_tables_of_the_other_page(
    dosing_history, referral_history, outcome_history, clinic, other_clinic
):
    filters = {"clinics": [clinic, other_clinic], "start": D(2026, 1, 1), "end": D(2026, 6, 30), "as_of": D(2026, 7, 1)}
    for granularity in ("week", "month", "quarter"):
        whole = build_report(**filters, granularity=granularity)
        dashboard = build_report(**filters, granularity=granularity, detail=False)

        assert set(whole) - set(dashboard) == set(DETAIL)
        assert dashboard == {key: value for key, value in whole.items() if key not in DETAIL}


def test_periods_are_clipped_to_the_range():
    assert [(p.start, p.end, p.label) for p in periods(D(2026, 2, 15), D(2026, 4, 10), "month")] == [
        (D(2026, 2, 15), D(2026, 2, 28), "Feb 2026 (15 Feb to 28 Feb)"),
        (D(2026, 3, 1), D(2026, 3, 31), "Mar 2026"),
        (D(2026, 4, 1), D(2026, 4, 10), "Apr 2026 (01 Apr to 10 Apr)"),
    ]


def test_bad_input_is_refused_naming_the_field(clinic):
    with pytest.raises(ValidationError) as error:
        statistics(clinics=[clinic], start=D(2026, 3, 1), end=D(2026, 2, 1), granularity="month")
    assert "end" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        statistics(clinics=[clinic], start=D(2026, 1, 1), end=D(2026, 2, 1), granularity="fortnight")
    assert "granularity" in error.value.message_dict


@pytest.fixture
def onward_history(world, clinic, keyworker):
    from onward.models import OnwardReferral
    from partners.models import PartnerKind
    from tests.factories import PartnerFactory

    housing = PartnerFactory(clinics=[clinic], kind=PartnerKind.HOUSING)
    employment = PartnerFactory(clinics=[clinic], kind=PartnerKind.EMPLOYMENT)

    def onward(partner, at, status="sent", outcome="", cancel_reason=""):
        finished = at + datetime.timedelta(days=3) if status in ("closed", "cancelled") else None
        return OnwardReferral.objects.create(
            patient=world[1],
            clinic=clinic,
            partner=partner,
            need_kind="housing",
            need="A flat",
            contact_route="phone",
            status=status,
            outcome=outcome,
            cancel_reason=cancel_reason,
            finished_at=finished,
            created_by=keyworker,
            created_at=at,
            updated_at=at,
        )

    utc = datetime.UTC
    onward(housing, datetime.datetime(2026, 3, 3, 10, 0, tzinfo=utc))
    # 23:30 UTC on 31 March is 00:30 on 1 April in London (BST): an April referral.
    onward(employment, datetime.datetime(2026, 3, 31, 23, 30, tzinfo=utc), "closed", "need_met")
    onward(housing, datetime.datetime(2026, 4, 5, 9, 0, tzinfo=utc), "cancelled", cancel_reason="Moved away")
    onward(housing, datetime.datetime(2026, 4, 6, 9, 0, tzinfo=utc), "closed", "not_met")
    onward(housing, datetime.datetime(2026, 5, 6, 9, 0, tzinfo=utc))  # after the range


def test_onward_referrals_by_partner_kind_and_outcome(onward_history, clinic):
    stats = statistics(clinics=[clinic], start=D(2026, 3, 1), end=D(2026, 4, 30), granularity="month")

    assert [dict(counts) for counts in stats.onward] == [{"housing": 1}, {"employment": 1, "housing": 2}]
    assert {kind: dict(counts) for kind, counts in stats.onward_by_kind.items()} == {
        "housing": {"sent": 3, "open": 1, "cancelled": 1, "not_met": 1},
        "employment": {"sent": 1, "need_met": 1},
    }
