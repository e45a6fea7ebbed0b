"""Referral intake and transitions: duplicates, one open referral per person, decisions with reasons."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from patients.models import Episode, Patient
from referrals import services
from referrals.models import EligibilityCriteria, Recommendation, Referral, ReferralStatus
from tests.factories import PatientFactory, PreviousEpisodeFactory, ReferralFactory
from tests.factories.referrals import nhs_number

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 21)


def person(**overrides) -> dict:
    values = {
        "source": "gp",
        "received_on": dt.date(2026, 11, 20),
        "given_name": "Jamie",
        "family_name": "Lister",
        "date_of_birth": dt.date(1988, 3, 14),
        "nhs_number": nhs_number(1),
        "years_dependent": 8,
        "months_in_oral_treatment": 10,
        "injecting_days_last_3_months": 70,
        "pregnant": False,
        "contraindication": False,
    }
    values.update(overrides)
    return values


def take_in(clinic, keyworker, **overrides) -> Referral:
    return services.referral_create(clinic=clinic, created_by=keyworker, **person(**overrides))


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


def awaiting(clinic, keyworker, **fields) -> Referral:
    referral = ReferralFactory(clinic=clinic, created_by=keyworker, **fields)
    return services.referral_recommend(referral=referral, by=keyworker, recommendation=Recommendation.ACCEPT)


class TestIntake:
    def test_a_keyworker_takes_a_referral_in_with_previous_episodes(self, clinic, keyworker):
        referral = take_in(
            clinic,
            keyworker,
            previous_episodes=[
                {
                    "kind": "methadone",
                    "started_on": dt.date(2019, 1, 1),
                    "ended_on": dt.date(2019, 6, 1),
                    "why_ended": "failed",
                },
                services.EpisodeInput(started_on=dt.date(2021, 2, 1), why_ended="dropped_out", kind="buprenorphine"),
            ],
        )
        assert referral.status == ReferralStatus.NEW
        assert referral.previous_episodes.count() == 2
        assert referral.history.count() == 1  # django-simple-history keeps who and when

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("nhs_number", "1234567890", "check digit"),
            ("date_of_birth", dt.date(2026, 11, 22), "The date of birth cannot be in the future."),
            ("date_of_birth", dt.date(1901, 5, 1), "more than 100 years ago is not plausible"),
            ("received_on", dt.date(2026, 11, 22), "The date received cannot be in the future."),
            ("injecting_days_last_3_months", 93, "less than or equal to 92"),
        ],
    )
    def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(self, clinic, keyworker, field, value, message):
        with pytest.raises(ValidationError) as excinfo:
            take_in(clinic, keyworker, **{field: value})
        assert message in errors_of(excinfo)[field][0]
        assert not Referral.objects.exists()

    def test_injecting_days_cannot_exceed_the_days_in_those_3_months(self, clinic, keyworker):
        # 1 Mar 2026: the 3 months before (1 Dec - 28 Feb) have 90 days.
        with pytest.raises(ValidationError) as excinfo:
            take_in(clinic, keyworker, received_on=dt.date(2026, 3, 1), injecting_days_last_3_months=91)
        assert errors_of(excinfo)["injecting_days_last_3_months"] == [
            "The 3 months before 1 Mar 2026 have 90 days; enter 0 to 90."
        ]

    def test_a_bad_previous_episode_is_refused_by_its_row_and_nothing_is_saved(self, clinic, keyworker):
        bad = {"started_on": dt.date(2020, 5, 1), "ended_on": dt.date(2020, 1, 1), "why_ended": "failed"}
        with pytest.raises(ValidationError) as excinfo:
            take_in(clinic, keyworker, previous_episodes=[bad])
        assert errors_of(excinfo) == {
            "previous_episodes[0].ended_on": ["The end date cannot be before the start date."]
        }
        assert not Referral.objects.exists()

    def test_only_referral_staff_take_referrals_in(self, clinic, nurse, prescriber):
        for user in (nurse, prescriber):
            with pytest.raises(PermissionDenied):
                take_in(clinic, user)


class TestDuplicates:
    def test_an_existing_patient_with_the_same_nhs_number_is_flagged_before_anything_is_created(
        self, clinic, other_clinic, keyworker
    ):
        PatientFactory(clinic=other_clinic, nhs_number=nhs_number(1))
        with pytest.raises(ValidationError) as excinfo:
            take_in(clinic, keyworker, given_name="Someone", family_name="Else")
        assert "1 patient record(s) may be this person" in errors_of(excinfo)["confirm_not_duplicate"][0]
        assert not Referral.objects.exists()

    def test_an_existing_patient_with_the_same_name_and_date_of_birth_is_flagged(self, clinic, keyworker):
        PatientFactory(clinic=clinic, given_name="JAMIE", family_name="lister", date_of_birth=dt.date(1988, 3, 14))
        with pytest.raises(ValidationError) as excinfo:
            take_in(clinic, keyworker, nhs_number="")
        assert "confirm_not_duplicate" in errors_of(excinfo)

    def test_once_confirmed_a_flagged_referral_is_taken_in(self, clinic, keyworker):
        PatientFactory(clinic=clinic, given_name="Jamie", family_name="Lister", date_of_birth=dt.date(1988, 3, 14))
        referral = take_in(clinic, keyworker, nhs_number="", confirm_not_duplicate=True)
        assert referral.pk

    def test_a_second_open_referral_for_the_same_nhs_number_is_refused(self, clinic, other_clinic, keyworker):
        first = ReferralFactory(clinic=other_clinic, nhs_number=nhs_number(1))
        with pytest.raises(ValidationError) as excinfo:
            take_in(clinic, keyworker, given_name="Other", confirm_not_duplicate=True)
        assert errors_of(excinfo)["nhs_number"] == [
            f"There is already an open referral for the same NHS number: referral {first.pk} at Darlington HAT "
            "Clinic, received 2 Nov 2026 (new). Continue with that referral, or withdraw it first."
        ]
        assert Referral.objects.count() == 1

    def test_a_second_open_referral_for_the_same_name_and_date_of_birth_is_refused(self, clinic, keyworker):
        ReferralFactory(clinic=clinic, given_name="Jamie", family_name="Lister", date_of_birth=dt.date(1988, 3, 14))
        with pytest.raises(ValidationError) as excinfo:
            take_in(clinic, keyworker, given_name=" jamie ", nhs_number="")
        assert "the same name and date of birth" in errors_of(excinfo)["date_of_birth"][0]

    def test_after_a_referral_closes_the_person_may_be_referred_again(self, clinic, keyworker):
        first = take_in(clinic, keyworker)
        services.referral_withdraw(referral=first, by=keyworker, reason="Changed their mind.")
        assert take_in(clinic, keyworker).pk != first.pk

    def test_the_database_refuses_two_open_referrals_even_if_a_check_is_skipped(self, clinic, keyworker):
        from django.db import IntegrityError, transaction

        ReferralFactory(clinic=clinic, nhs_number=nhs_number(1))
        with pytest.raises(IntegrityError), transaction.atomic():
            ReferralFactory(clinic=clinic, nhs_number=nhs_number(1))


class TestTransitions:
    def test_start_assessment_is_idempotent(self, clinic, keyworker):
        referral = ReferralFactory(clinic=clinic)
        services.referral_start_assessment(referral=referral, by=keyworker)
        again = services.referral_start_assessment(referral=referral, by=keyworker)
        assert again.status == ReferralStatus.ASSESSING
        assert again.history.count() == 2  # created, then assessing; the repeat changed nothing

    def test_recommending_decline_needs_notes(self, clinic, keyworker):
        referral = ReferralFactory(clinic=clinic)
        with pytest.raises(ValidationError) as excinfo:
            services.referral_recommend(referral=referral, by=keyworker, recommendation=Recommendation.DECLINE)
        assert errors_of(excinfo) == {"notes": ["Say why you recommend declining this referral."]}

    def test_a_recommendation_waits_for_the_prescriber(self, clinic, keyworker):
        referral = awaiting(clinic, keyworker)
        assert referral.status == ReferralStatus.AWAITING_PRESCRIBER
        assert referral.recommended_by == keyworker

    def test_a_keyworker_cannot_accept(self, clinic, keyworker):
        referral = awaiting(clinic, keyworker)
        with pytest.raises(PermissionDenied):
            services.referral_accept(referral=referral, by=keyworker)
        referral.refresh_from_db()
        assert referral.status == ReferralStatus.AWAITING_PRESCRIBER
        assert not Patient.objects.exists()

    def test_a_keyworker_cannot_decline(self, clinic, keyworker):
        with pytest.raises(PermissionDenied):
            services.referral_decline(referral=awaiting(clinic, keyworker), by=keyworker, reason="No.")

    def test_a_prescriber_cannot_accept_before_a_recommendation(self, clinic, prescriber):
        referral = ReferralFactory(clinic=clinic)
        with pytest.raises(ValidationError) as excinfo:
            services.referral_accept(referral=referral, by=prescriber)
        assert errors_of(excinfo)["status"] == [
            "This referral is new; it cannot be accepted until a keyworker has recommended it now."
        ]

    def test_acceptance_registers_the_patient_with_an_open_episode_and_links_it(self, clinic, keyworker, prescriber):
        referral = awaiting(clinic, keyworker, given_name="Lee", family_name="Harland", nhs_number=nhs_number(3))
        accepted = services.referral_accept(referral=referral, by=prescriber, reason="Meets every criterion.")

        patient = accepted.patient
        assert accepted.status == ReferralStatus.ACCEPTED
        assert (patient.given_name, patient.family_name, patient.nhs_number) == ("Lee", "Harland", nhs_number(3))
        assert patient.clinic == clinic
        assert patient.keyworker == keyworker
        assert patient.gp_practice == "Linthorpe Road Surgery"
        episode = Episode.objects.get(patient=patient)
        assert (episode.started_on, episode.ended_on) == (TODAY, None)

    def test_accepting_twice_creates_one_patient(self, clinic, keyworker, prescriber):
        referral = awaiting(clinic, keyworker)
        services.referral_accept(referral=referral, by=prescriber)
        services.referral_accept(referral=referral, by=prescriber)
        assert Patient.objects.count() == 1

    def test_accepting_with_a_failed_criterion_needs_an_override_reason(self, clinic, keyworker, prescriber):
        referral = awaiting(clinic, keyworker, years_dependent=2)
        with pytest.raises(ValidationError) as excinfo:
            services.referral_accept(referral=referral, by=prescriber)
        assert errors_of(excinfo)["override_reason"] == [
            "Not every criterion is met: years of opioid dependence (not met). "
            "Write why you accept this referral anyway."
        ]
        assert not Patient.objects.exists()

        accepted = services.referral_accept(
            referral=referral, by=prescriber, override_reason="Documented 2.5 years and severe harms."
        )
        assert accepted.override_reason == "Documented 2.5 years and severe harms."

    def test_an_unknown_criterion_needs_an_override_reason_too(self, clinic, keyworker, prescriber):
        referral = awaiting(clinic, keyworker, pregnant=None)
        with pytest.raises(ValidationError) as excinfo:
            services.referral_accept(referral=referral, by=prescriber)
        assert "no exclusion (unknown)" in errors_of(excinfo)["override_reason"][0]

    def test_the_clinics_own_criteria_are_applied_at_acceptance(self, clinic, keyworker, prescriber, manager):
        services.eligibility_criteria_update(clinic=clinic, by=manager, min_years_dependence=12)
        referral = awaiting(clinic, keyworker, years_dependent=10)
        with pytest.raises(ValidationError, match="years of opioid dependence"):
            services.referral_accept(referral=referral, by=prescriber)

    def test_a_failure_while_registering_leaves_nothing_behind(self, clinic, keyworker, prescriber):
        referral = awaiting(clinic, keyworker)
        # The patient row is written before the episode is checked; a bad start date fails the episode.
        with pytest.raises(ValidationError) as excinfo:
            services.referral_accept(referral=referral, by=prescriber, started_on="31/11/2026")
        assert "started_on" in errors_of(excinfo)
        assert not Patient.objects.exists()
        assert not Episode.objects.exists()
        referral.refresh_from_db()
        assert (referral.status, referral.patient_id, referral.decided_by_id) == (
            ReferralStatus.AWAITING_PRESCRIBER,
            None,
            None,
        )

    def test_acceptance_is_refused_when_the_nhs_number_was_registered_meanwhile(self, clinic, keyworker, prescriber):
        referral = awaiting(clinic, keyworker, nhs_number=nhs_number(4))
        existing = PatientFactory(clinic=clinic, nhs_number=nhs_number(4))
        with pytest.raises(ValidationError) as excinfo:
            services.referral_accept(referral=referral, by=prescriber)
        assert f"already registered (patient {existing.pk})" in errors_of(excinfo)["nhs_number"][0]
        assert Patient.objects.count() == 1

    def test_a_decline_needs_a_reason(self, clinic, keyworker, prescriber):
        referral = awaiting(clinic, keyworker)
        with pytest.raises(ValidationError) as excinfo:
            services.referral_decline(referral=referral, by=prescriber, reason="   ")
        assert errors_of(excinfo) == {"reason": ["Say why this referral is declined; the referrer will be told."]}
        declined = services.referral_decline(referral=referral, by=prescriber, reason="Under 3 years of use.")
        assert (declined.status, declined.decided_by) == (ReferralStatus.DECLINED, prescriber)

    def test_a_closed_referral_cannot_be_reopened_by_another_decision(self, clinic, keyworker, prescriber):
        referral = awaiting(clinic, keyworker)
        services.referral_decline(referral=referral, by=prescriber, reason="Not eligible.")
        with pytest.raises(ValidationError, match="This referral is declined"):
            services.referral_accept(referral=referral, by=prescriber)
        with pytest.raises(ValidationError, match="This referral is declined"):
            services.referral_withdraw(referral=referral, by=keyworker, reason="x")

    def test_withdraw_needs_a_reason(self, clinic, keyworker):
        with pytest.raises(ValidationError) as excinfo:
            services.referral_withdraw(referral=ReferralFactory(clinic=clinic), by=keyworker, reason="")
        assert errors_of(excinfo) == {"reason": ["Say why the referral is withdrawn."]}

    def test_previous_episodes_count_towards_acceptance(self, clinic, keyworker, prescriber):
        referral = ReferralFactory(clinic=clinic, months_in_oral_treatment=None, injecting_days_last_3_months=None)
        PreviousEpisodeFactory(referral=referral)
        PreviousEpisodeFactory(
            referral=referral, started_on=dt.date(2021, 1, 1), ended_on=None, why_ended="dropped_out"
        )
        services.referral_recommend(referral=referral, by=keyworker, recommendation=Recommendation.ACCEPT)
        assert services.referral_accept(referral=referral, by=prescriber).status == ReferralStatus.ACCEPTED


class TestEligibilitySettings:
    def test_a_manager_changes_the_clinics_criteria(self, clinic, manager):
        services.eligibility_criteria_update(clinic=clinic, by=manager, min_age=25, min_injecting_share=60)
        criteria = EligibilityCriteria.objects.get(clinic=clinic)
        assert (criteria.min_age, criteria.min_injecting_share, criteria.min_years_dependence) == (25, 60, 3)

    def test_criteria_out_of_range_are_refused(self, clinic, manager):
        with pytest.raises(ValidationError) as excinfo:
            services.eligibility_criteria_update(clinic=clinic, by=manager, min_age=12, min_injecting_share=120)
        assert set(errors_of(excinfo)) == {"min_age", "min_injecting_share"}

    def test_only_a_manager_changes_them(self, clinic, keyworker, prescriber):
        for user in (keyworker, prescriber):
            with pytest.raises(PermissionDenied):
                services.eligibility_criteria_update(clinic=clinic, by=user, min_age=20)
