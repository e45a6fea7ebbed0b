"""Eligibility (SPEC 3.2): every default criterion met, not met and unknown, and a clinic's own criteria."""

import datetime as dt

import pytest

from referrals.models import EligibilityCriteria, EpisodeEnd, PreviousTreatmentEpisode, Referral
from referrals.rules import Outcome, assess

ON = dt.date(2026, 11, 21)


def referral(**overrides) -> Referral:
    values = {
        "received_on": dt.date(2026, 11, 21),
        "date_of_birth": dt.date(1985, 6, 15),
        "years_dependent": 10,
        "months_in_oral_treatment": None,
        "injecting_days_last_3_months": None,
        "pregnant": False,
        "contraindication": False,
    }
    values.update(overrides)
    return Referral(**values)


def failed_episodes(count: int, why=EpisodeEnd.FAILED) -> list[PreviousTreatmentEpisode]:
    return [PreviousTreatmentEpisode(started_on=dt.date(2018 + i, 1, 1), why_ended=why) for i in range(count)]


def result(key: str, ref: Referral, criteria=None, episodes=()):
    found = assess(ref, criteria or EligibilityCriteria(), on=ON, episodes=list(episodes))
    return next(r for r in found.results if r.key == key)


class TestAge:
    def test_18_on_the_day_is_met(self):
        r = result("age", referral(date_of_birth=dt.date(2008, 11, 21)))
        assert r.outcome == Outcome.MET
        assert r.reason == "Age 18 on 21 Nov 2026; this clinic requires 18 or over."

    def test_17_the_day_before_the_birthday_is_not_met(self):
        r = result("age", referral(date_of_birth=dt.date(2008, 11, 22)))
        assert r.outcome == Outcome.NOT_MET
        assert r.reason == "Age 17 on 21 Nov 2026; this clinic requires 18 or over."

    def test_missing_date_of_birth_is_unknown(self):
        assert result("age", referral(date_of_birth=None)).outcome == Outcome.UNKNOWN


class TestDependence:
    def test_3_years_is_met(self):
        r = result("dependence", referral(years_dependent=3))
        assert r.outcome == Outcome.MET
        assert r.reason == "3 years of opioid dependence; this clinic requires 3 or more."

    def test_2_years_is_not_met(self):
        r = result("dependence", referral(years_dependent=2))
        assert r.outcome == Outcome.NOT_MET
        assert r.reason == "2 years of opioid dependence; this clinic requires 3 or more."

    def test_not_recorded_is_unknown(self):
        r = result("dependence", referral(years_dependent=None))
        assert r.outcome == Outcome.UNKNOWN
        assert r.reason == "Years of dependence not recorded; this clinic requires 3 or more."


class TestOralTreatment:
    def test_two_failed_episodes_are_met(self):
        r = result("oral_treatment", referral(), episodes=failed_episodes(2))
        assert r.outcome == Outcome.MET
        assert r.reason == "2 failed oral treatment episodes recorded; this clinic requires 2 or more."

    def test_dropping_out_counts_as_failed_but_completing_does_not(self):
        episodes = [*failed_episodes(1, EpisodeEnd.DROPPED_OUT), *failed_episodes(3, EpisodeEnd.COMPLETED)]
        r = result(
            "oral_treatment", referral(months_in_oral_treatment=0, injecting_days_last_3_months=0), episodes=episodes
        )
        assert r.outcome == Outcome.NOT_MET
        assert r.reason.startswith("1 failed oral treatment episode recorded; this clinic requires 2")

    def test_riott_route_six_months_and_half_the_days_is_met(self):
        # 21 Aug to 21 Nov 2026 is 92 days; 46 of them is exactly 50%.
        r = result("oral_treatment", referral(months_in_oral_treatment=6, injecting_days_last_3_months=46))
        assert r.outcome == Outcome.MET
        assert r.reason == (
            "6 months in oral treatment, injecting on 46 of 92 days (50%); this clinic requires "
            "6 months in oral treatment while injecting on 50% of days."
        )

    def test_riott_route_just_under_half_the_days_is_not_met(self):
        r = result("oral_treatment", referral(months_in_oral_treatment=8, injecting_days_last_3_months=45))
        assert r.outcome == Outcome.NOT_MET
        assert "injecting on 45 of 92 days (49%)" in r.reason

    def test_riott_route_five_months_is_not_met(self):
        r = result("oral_treatment", referral(months_in_oral_treatment=5, injecting_days_last_3_months=80))
        assert r.outcome == Outcome.NOT_MET

    def test_too_few_episodes_and_no_riott_data_is_unknown(self):
        r = result("oral_treatment", referral(months_in_oral_treatment=9), episodes=failed_episodes(1))
        assert r.outcome == Outcome.UNKNOWN
        assert r.reason == (
            "1 failed oral treatment episode recorded; this clinic requires 2 or 6 months in oral treatment "
            "while injecting on 50% of days; injecting days not recorded."
        )


class TestExclusions:
    def test_none_recorded_is_met(self):
        assert result("exclusions", referral()).outcome == Outcome.MET

    @pytest.mark.parametrize(
        ("pregnant", "contraindication", "named"),
        [(True, False, "pregnancy"), (False, True, "a contraindicating condition")],
    )
    def test_a_recorded_exclusion_is_not_met(self, pregnant, contraindication, named):
        r = result("exclusions", referral(pregnant=pregnant, contraindication=contraindication))
        assert r.outcome == Outcome.NOT_MET
        assert r.reason.startswith(f"Exclusion recorded: {named};")

    def test_not_yet_asked_is_unknown(self):
        r = result("exclusions", referral(pregnant=None))
        assert r.outcome == Outcome.UNKNOWN
        assert r.reason == "Not yet asked about pregnancy."


def test_an_eligible_referral_needs_no_override():
    found = assess(referral(), EligibilityCriteria(), on=ON, episodes=failed_episodes(2))
    assert found.eligible
    assert found.needs_override == ()


class TestAClinicsOwnCriteria:
    """Switzerland: 20 years old and 2 years of dependence; NAOMI: 5 years and 3 failed episodes."""

    def test_a_higher_minimum_age_turns_a_met_age_into_not_met(self):
        criteria = EligibilityCriteria(min_age=25)
        r = result("age", referral(date_of_birth=dt.date(2003, 1, 1)), criteria)
        assert r.outcome == Outcome.NOT_MET
        assert r.reason == "Age 23 on 21 Nov 2026; this clinic requires 25 or over."

    def test_a_lower_dependence_minimum_turns_not_met_into_met(self):
        assert result("dependence", referral(years_dependent=2), EligibilityCriteria(min_years_dependence=2)).passed

    def test_more_failed_episodes_required(self):
        r = result("oral_treatment", referral(), EligibilityCriteria(min_failed_oral_episodes=3), failed_episodes(2))
        assert r.outcome == Outcome.UNKNOWN
        assert "this clinic requires 3" in r.reason

    def test_a_stricter_injecting_share(self):
        criteria = EligibilityCriteria(min_injecting_share=75, min_months_in_oral_treatment=3)
        r = result("oral_treatment", referral(months_in_oral_treatment=4, injecting_days_last_3_months=60), criteria)
        assert r.outcome == Outcome.NOT_MET
        assert "3 months in oral treatment while injecting on 75% of days" in r.reason
