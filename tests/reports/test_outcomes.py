"""Outcome figures (issue 15, items 1-3) against hand-computed examples from the conftest history.

Range 1 Jan to 30 Jun 2026 (181 days), clinic Middlesbrough; the previous period is 4 Jul to 31 Dec 2025.
"""

import datetime

import pytest
from django.urls import reverse

from reports.cache import build_report
from reports.outcomes import outcomes, previous_range
from reports.presenting import per_thousand
from reports.selectors import statistics
from reports.suppression import SUPPRESSED

pytestmark = pytest.mark.django_db
D = datetime.date
START, END, AS_OF = D(2026, 1, 1), D(2026, 6, 30), D(2026, 12, 1)


def _outcomes(clinic):
    return outcomes(stats=statistics(clinics=[clinic], start=START, end=END, granularity="month", as_of=AS_OF))


def test_the_previous_period_is_as_long_and_ends_the_day_before():
    assert previous_range(START, END) == (D(2025, 7, 4), D(2025, 12, 31))


def test_headline_figures_against_the_previous_period(dosing_history, clinic):
    out = _outcomes(clinic)
    now, before = out.current, out.previous
    # In treatment: P1, P2, P3 (second episode), P4, P6. Before: P3 (first episode), P4, P6.
    assert (now.caseload, before.caseload) == (5, 3)
    assert (now.new_starts, before.new_starts) == (3, 2)  # P1, P2, P3; P3, P4
    assert dict(now.discharges) == {"dropped_out": 1, "other": 1}  # P2; P4 moved away
    assert dict(before.discharges) == {"custody": 1}
    # 3 months: started 1 Oct 2025 - 30 Mar 2026 (P4, P1, P2, P3): P2 left after 6 weeks.
    # 6 months: started 1 Jul - 30 Dec 2025 (P3's first episode, P4): neither stayed 6 months.
    # 12 months: started 1 Jan - 30 Jun 2025 (P5, P6, P7): only P6 stayed.
    assert now.retention == {3: (4, 3), 6: (2, 0), 12: (3, 1)}
    # Sessions of March and April 2026: 12 slots, 1 cancelled; 7 given (2 partial).
    assert (now.scheduled, now.given) == (11, 7)


def test_patient_days_and_safety_per_1000_patient_days(dosing_history, clinic):
    out = _outcomes(clinic)
    # P1 177 (5 Jan - 30 Jun), P2 42 (10 Mar - 20 Apr), P3 103 (20 Mar - 30 Jun), P4 64 (1 Jan - 5 Mar), P6 181.
    assert out.current.patient_days == 177 + 42 + 103 + 64 + 181 == 567
    assert out.patient_days == [89, 84, 101, 110, 93, 90]  # by month, January to June
    assert (out.current.adverse_events, out.current.overdoses, out.current.naloxone_uses) == (2, 1, 1)
    assert out.current.deaths == 0
    assert per_thousand(9, 3000) == 3.0
    assert per_thousand(12, 567) == 21.16
    assert per_thousand(2, 567) == SUPPRESSED  # 2 events: a count from 1 to 7
    assert per_thousand(0, 567) == 0.0
    assert per_thousand(0, 0) is None


def test_top_change_pairs_entry_with_the_latest_review_in_the_range(outcome_history, clinic):
    top = _outcomes(clinic).top
    # P1: 5 Jan against 5 Apr (5 Jul is after the range). P3: 20 Mar against 20 Jun (second episode).
    # P2 has no review; P3's first episode was reviewed in 2025, outside the range.
    heroin = top["heroin_days"]
    assert (heroin.n, heroin.entry, heroin.latest, heroin.improved, heroin.same, heroin.worse) == (2, 48, 24, 2, 0, 0)
    psych = top["psychological_health"]  # 8 -> 12 and 6 -> 10: higher is better
    assert (psych.entry, psych.latest, psych.improved, psych.worse) == (14, 22, 2, 0)
    housing = top["housing_problem"]  # P1 yes -> yes, P3 yes -> no
    assert (housing.entry, housing.latest, housing.improved, housing.same) == (2, 1, 1, 1)
    work = top["in_work_or_education"]  # P1 0 -> 4 days of paid work; P3 none
    assert (work.entry, work.latest, work.improved, work.same) == (0, 1, 1, 1)
    selling = top["selling_drugs_days"]  # P1 2 -> 0, P3 6 -> 0
    assert (selling.entry, selling.latest, selling.improved) == (8, 0, 2)


def test_the_presented_outcomes_follow_the_disclosure_rule(outcome_history, dosing_history, clinic):
    report = build_report(clinics=[clinic], start=START, end=END, granularity="month", as_of=AS_OF)
    headline = {figure["key"]: figure for figure in report["headline"]["figures"]}
    assert headline["caseload"]["value"] == SUPPRESSED and headline["caseload"]["change"] == SUPPRESSED
    assert headline["retention_6m"]["value"] == SUPPRESSED  # 0 of a cohort of 2: the cohort is small
    assert len(headline["caseload"]["trend"]) == 6
    heroin = report["top_change"]["rows"][0]
    assert (heroin["people"], heroin["entry"], heroin["improved"]) == (SUPPRESSED, SUPPRESSED, SUPPRESSED)
    assert report["safety"]["total"]["patient_days"] == 565  # 567 to the nearest 5
    assert report["safety"]["total"]["adverse_events_per_1000"] == SUPPRESSED


def test_the_dashboard_leads_with_the_headline_figures(dosing_history, outcome_history, client_for, commissioner):
    page = client_for(commissioner).get(reverse("reports-dashboard"), {"start": "2026-01-01", "end": "2026-06-30"})
    text = page.content.decode()
    assert page.status_code == 200
    assert text.index("Patients in treatment") < text.index("Sessions and doses")
    assert "per 1,000 patient-days" in text
    assert "Improved" in text


def test_the_clinic_comparison_gives_each_clinics_figures(
    dosing_history, clinic, other_clinic, client_for, commissioner
):
    stats = statistics(clinics=[clinic, other_clinic], start=START, end=END, granularity="month", as_of=AS_OF)
    out = outcomes(stats=stats)
    assert out.by_clinic[clinic.pk].caseload == 5
    assert out.by_clinic[other_clinic.pk].caseload == 1  # D1, from 1 Mar 2026
    assert out.by_clinic[other_clinic.pk].patient_days == 122  # 1 Mar - 30 Jun
    page = client_for(commissioner).get(reverse("reports-dashboard"), {"start": "2026-01-01", "end": "2026-06-30"})
    text = page.content.decode()
    assert "Clinics side by side" in text and 'aria-labelledby="cap-comparison"' in text
    one = client_for(commissioner).get(
        reverse("reports-dashboard"), {"start": "2026-01-01", "end": "2026-06-30", "clinic": clinic.pk}
    )
    assert "Clinics side by side" not in one.content.decode()
