"""Disclosure control that survives differencing (issue 15, item 6).

A reader who holds two answers (all my clinics and one of them; a range ending today and the same
range ending yesterday) subtracts one from the other. What they learn is the set of values the hidden
count can take given what each answer shows: a `*` is 1 to 7, a multiple of 5 from 10 up is that
figure give or take 2, 0 is 0, and any other figure is exact. The attack succeeds when that set is
one value from 1 to 7.
"""

import datetime
import itertools

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from patients.models import Episode
from referrals.models import ReferralSource
from reports.selectors import statistics
from reports.suppression import SUPPRESSED, disclose, present
from tests.factories import ClinicFactory, PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def possible(shown) -> set[int]:
    """What a reader can tell the true count is, from the figure shown."""
    if shown == SUPPRESSED:
        return set(range(1, 8))
    if shown == 0:
        return {0}
    if shown % 5:
        return {shown}  # not rounded: exact
    return {x for x in range(shown - 2, shown + 3) if x >= 8}


def difference(bigger, smaller) -> set[int]:
    """What a reader can tell (bigger answer) - (smaller answer) is: the count of the part left out."""
    return {a - b for a in possible(bigger) for b in possible(smaller) if a >= b}


def revealed(bigger, smaller) -> bool:
    values = difference(bigger, smaller)
    return len(values) == 1 and 1 <= next(iter(values)) <= 7


def _patients(clinic, n):
    for _ in range(n):
        patient = PatientFactory(clinic=clinic, episode=False)
        Episode.objects.create(patient=patient, clinic=clinic, started_on=D(2026, 3, 2))


def test_all_my_clinics_minus_one_clinic_does_not_reveal_the_other(client_for, commissioner, clinic, other_clinic):
    _patients(clinic, 11)
    _patients(other_clinic, 3)
    client = client_for(commissioner)
    week = {"start": "2026-03-02", "end": "2026-03-08", "granularity": "week"}

    everyone = client.get(reverse("api-stats"), week).json()["patients"]["total"]
    one = client.get(reverse("api-stats"), {**week, "clinic": clinic.pk}).json()["patients"]["total"]

    for figure in ("in_treatment", "new_starts"):
        assert not revealed(everyone[figure], one[figure]), (figure, everyone[figure], one[figure])


def test_the_range_ending_today_minus_the_range_ending_yesterday_does_not_reveal_todays_referral(
    client_for, commissioner, clinic, keyworker
):
    for day in range(1, 13):
        ReferralFactory(clinic=clinic, received_on=D(2026, 3, day), source=ReferralSource.GP, created_by=keyworker)
    ReferralFactory(clinic=clinic, received_on=D(2026, 3, 13), source=ReferralSource.GP, created_by=keyworker)
    client = client_for(commissioner)
    params = {"clinic": clinic.pk, "start": "2026-03-01", "granularity": "month"}

    today = client.get(reverse("api-stats"), {**params, "end": "2026-03-13"}).json()["referrals"]["total"]
    yesterday = client.get(reverse("api-stats"), {**params, "end": "2026-03-12"}).json()["referrals"]["total"]

    assert not revealed(today["received"], yesterday["received"])
    assert not revealed(today["by_source"]["gp"], yesterday["by_source"]["gp"])


def test_the_csv_and_the_page_show_the_same_rounded_figures(client_for, commissioner, clinic, other_clinic):
    _patients(clinic, 11)
    _patients(other_clinic, 3)
    client = client_for(commissioner)
    week = {"start": "2026-03-02", "end": "2026-03-08", "granularity": "week"}

    csv_text = client.get(reverse("reports-csv"), week).content.decode()
    assert "Whole range,,,in treatment,15\r\n" in csv_text  # 14 rounded to the nearest 5
    assert "Whole range,,,in treatment,14" not in csv_text
    page = client.get(reverse("reports-dashboard"), week).content.decode()
    assert "rounded to the nearest 5" in page


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, 0), (1, "*"), (7, "*"), (8, 10), (10, 10), (12, 10), (13, 15), (17, 15), (18, 20), (102, 100), (103, 105)],
)
def test_counts_1_to_7_are_stars_and_the_rest_are_rounded_to_the_nearest_5(count, shown):
    assert disclose(count) == shown


@hypothesis_settings(max_examples=500, deadline=None)
@given(st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=60))
def test_no_two_disclosed_counts_give_away_a_small_difference(a, b):
    bigger, smaller = max(a, b), min(a, b)
    assert not revealed(disclose(bigger), disclose(smaller))


# --- The property over real records: random small clinics and ranges ----------------------------------------------

FIRST = D(2026, 3, 1)
COUNTS = ("received", "started")


def _answer_counts(report) -> dict:
    """Every count of the answer that an attacker would subtract: referrals and patients, whole range."""
    referrals, patients = report["referrals"]["total"], report["patients"]["total"]
    counts = {f"referrals {name}": referrals[name] for name in COUNTS}
    counts.update({f"referrals from {source}": value for source, value in referrals["by_source"].items()})
    counts.update({f"patients {name}": patients[name] for name in ("in_treatment", "new_starts", "discharges")})
    counts.update({f"discharged {reason}": value for reason, value in patients["discharges_by_reason"].items()})
    return counts


clinic_history = st.lists(
    st.tuples(
        st.lists(st.integers(min_value=0, max_value=9), max_size=12),  # days (after FIRST) of referrals received
        st.lists(st.tuples(st.integers(0, 9), st.none() | st.integers(0, 9)), max_size=10),  # episodes (start, end)
    ),
    min_size=2,
    max_size=3,
)


@hypothesis_settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(clinic_history, st.integers(min_value=1, max_value=9))
def test_no_two_answers_over_clinic_subsets_or_adjacent_ranges_reveal_a_small_count(keyworker, history, last_day):
    with transaction.atomic():
        clinics = []
        for n, (referral_days, episodes) in enumerate(history):
            clinic = ClinicFactory(name=f"Property clinic {n}", code=f"prop{n}")
            clinics.append(clinic)
            for i, day in enumerate(referral_days):
                # A name of its own: two random names alike would be one open referral (the database refuses it).
                ReferralFactory(clinic=clinic, received_on=FIRST + datetime.timedelta(days=day), created_by=keyworker,
                                family_name=f"Referred{n}x{i}")  # fmt: skip
            for start, end in episodes:
                patient = PatientFactory(clinic=clinic, episode=False)
                ended = None if end is None or end < start else FIRST + datetime.timedelta(days=end)
                Episode.objects.create(
                    patient=patient,
                    clinic=clinic,
                    started_on=FIRST + datetime.timedelta(days=start),
                    ended_on=ended,
                    discharge_reason="dropped_out" if ended else "",
                )
        end = FIRST + datetime.timedelta(days=last_day)
        ranges = [(FIRST, end), (FIRST, end - datetime.timedelta(days=1)), (FIRST + datetime.timedelta(days=1), end)]
        subsets = [subset for size in range(1, len(clinics) + 1) for subset in itertools.combinations(clinics, size)]
        answers = {
            (subset, span): _answer_counts(
                present(statistics(clinics=list(subset), start=span[0], end=span[1], granularity="month", as_of=end))
            )
            for subset in subsets
            for span in ranges
            if span[0] <= span[1]
        }
        leaks = []
        for (scope_a, span_a), (scope_b, span_b) in itertools.permutations(answers, 2):
            nested_clinics = span_a == span_b and set(scope_b) < set(scope_a)
            nested_range = scope_a == scope_b and span_a[0] <= span_b[0] and span_b[1] <= span_a[1] and span_a != span_b
            if not (nested_clinics or nested_range):
                continue
            bigger, smaller = answers[(scope_a, span_a)], answers[(scope_b, span_b)]
            for name in bigger:
                # In treatment is not additive over time (a patient is in both ranges); the rest are.
                if nested_range and name == "patients in_treatment":
                    continue
                if revealed(bigger[name], smaller[name]):
                    leaks.append((name, bigger[name], smaller[name]))
        transaction.set_rollback(True)
    assert leaks == []
