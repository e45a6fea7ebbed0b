"""Referral pages: who sees what, field-named errors, and the decisions through the forms."""

import datetime as dt

import pytest
from django.urls import reverse

from patients.models import Patient
from referrals.models import EligibilityCriteria, Referral, ReferralStatus
from tests.factories import PatientFactory, ReferralFactory
from tests.factories.referrals import nhs_number

pytestmark = pytest.mark.django_db


def intake(**overrides) -> dict:
    data = {
        "source": "gp",
        "received_on": "2026-11-20",
        "referrer_organisation": "Linthorpe Road Surgery",
        "given_name": "Jamie",
        "family_name": "Lister",
        "date_of_birth": "1988-03-14",
        "nhs_number": "",
        "sex": "male",
        "contact_route": "phone",
        "years_dependent": "8",
        "months_in_oral_treatment": "10",
        "injecting_days_last_3_months": "70",
        "pregnant": "false",
        "contraindication": "false",
        "episodes-TOTAL_FORMS": "3",
        "episodes-INITIAL_FORMS": "0",
        "episodes-MIN_NUM_FORMS": "0",
        "episodes-MAX_NUM_FORMS": "12",
        "episodes-0-kind": "methadone",
        "episodes-0-started_on": "2019-01-10",
        "episodes-0-ended_on": "2019-09-01",
        "episodes-0-why_ended": "failed",
        "episodes-1-kind": "methadone",
        "episodes-2-kind": "methadone",
    }
    data.update(overrides)
    return data


def action(referral, name):
    return reverse("referral-action", args=[referral.pk, name])


class TestInbox:
    def test_the_inbox_lists_open_referrals_of_the_current_clinic_only(
        self, client_for, keyworker, clinic, other_clinic
    ):
        ReferralFactory(clinic=clinic, given_name="Ours", family_name="Open")
        ReferralFactory(
            clinic=clinic,
            given_name="Ours",
            family_name="Declined",
            status=ReferralStatus.WITHDRAWN,
            withdrawal_reason="Moved away.",
        )
        ReferralFactory(clinic=other_clinic, given_name="Theirs", family_name="Open")

        page = client_for(keyworker).get(reverse("referral-list")).content.decode()

        assert "Ours Open" in page
        assert "Ours Declined" not in page
        assert "Theirs" not in page

    def test_the_status_filter(self, client_for, keyworker, clinic):
        ReferralFactory(clinic=clinic, given_name="Ours", family_name="Open")
        ReferralFactory(
            clinic=clinic,
            given_name="Was",
            family_name="Withdrawn",
            status=ReferralStatus.WITHDRAWN,
            withdrawal_reason="Moved away.",
        )

        page = client_for(keyworker).get(reverse("referral-list"), {"status": "withdrawn"}).content.decode()

        assert "Was Withdrawn" in page
        assert "Ours Open" not in page

    def test_the_inbox_uses_the_same_queries_for_few_and_many(
        self, client_for, keyworker, clinic, django_assert_max_num_queries
    ):
        client = client_for(keyworker)
        ReferralFactory.create_batch(3, clinic=clinic, nhs_number="", date_of_birth=dt.date(1980, 1, 1))
        client.get(reverse("referral-list"))  # warm the session
        with django_assert_max_num_queries(12) as few:
            client.get(reverse("referral-list"))
        ReferralFactory.create_batch(30, clinic=clinic, nhs_number="", date_of_birth=dt.date(1980, 1, 2))
        with django_assert_max_num_queries(len(few.captured_queries)):
            client.get(reverse("referral-list"))

    def test_nurses_may_not_open_referrals_and_managers_only_read_them(self, client_for, nurse, manager):
        assert client_for(nurse).get(reverse("referral-list")).status_code == 403
        assert client_for(manager).get(reverse("referral-list")).status_code == 200  # SPEC 2, issue 12 hole 11

    def test_another_clinics_referral_is_not_found(self, client_for, other_nurse, other_keyworker, clinic):
        referral = ReferralFactory(clinic=clinic)
        assert client_for(other_keyworker).get(reverse("referral-detail", args=[referral.pk])).status_code == 404
        assert (
            client_for(other_keyworker).post(action(referral, "withdraw"), {"withdraw-reason": "x"}).status_code == 404
        )
        assert client_for(other_nurse).get(reverse("referral-detail", args=[referral.pk])).status_code == 403


class TestIntakeForm:
    def test_a_keyworker_takes_a_referral_in(self, client_for, keyworker, clinic):
        response = client_for(keyworker).post(reverse("referral-create"), intake())

        referral = Referral.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("referral-detail", args=[referral.pk])
        assert (referral.clinic, referral.created_by) == (clinic, keyworker)
        assert referral.previous_episodes.count() == 1  # the empty rows are ignored

    def test_an_nhs_number_in_groups_is_accepted(self, client_for, keyworker):
        number = nhs_number(9)
        client_for(keyworker).post(
            reverse("referral-create"), intake(nhs_number=f"{number[:3]} {number[3:6]} {number[6:]}")
        )
        assert Referral.objects.get().nhs_number == number

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("nhs_number", "1234567890", "check digit"),
            ("date_of_birth", "2027-01-01", "The date of birth cannot be in the future."),
            ("date_of_birth", "1890-01-01", "is not plausible"),
            ("injecting_days_last_3_months", "120", "less than or equal to 92"),
        ],
    )
    def test_bad_input_is_shown_next_to_its_field(self, client_for, keyworker, field, value, message):
        response = client_for(keyworker).post(reverse("referral-create"), intake(**{field: value}))

        assert response.status_code == 400
        assert message in " ".join(response.context["form"].errors[field])
        assert f'id="id_{field}_error"' in response.content.decode()
        assert not Referral.objects.exists()

    def test_a_bad_episode_row_is_shown_in_that_row(self, client_for, keyworker):
        response = client_for(keyworker).post(
            reverse("referral-create"), intake(**{"episodes-0-ended_on": "2018-01-01"})
        )
        assert response.status_code == 400
        assert response.context["episodes"].forms[0].errors["ended_on"] == [
            "The end date cannot be before the start date."
        ]

    def test_a_second_open_referral_is_refused_on_the_form(self, client_for, keyworker, clinic):
        first = ReferralFactory(
            clinic=clinic, given_name="Jamie", family_name="Lister", date_of_birth=dt.date(1988, 3, 14)
        )

        response = client_for(keyworker).post(reverse("referral-create"), intake())

        assert response.status_code == 400
        assert (
            f"There is already an open referral for the same name and date of birth: referral {first.pk}"
            in (response.context["form"].errors["date_of_birth"][0])
        )
        assert Referral.objects.count() == 1

    def test_a_possible_duplicate_patient_is_shown_and_must_be_confirmed(self, client_for, keyworker, clinic):
        PatientFactory(clinic=clinic, given_name="Jamie", family_name="Lister", date_of_birth=dt.date(1988, 3, 14))
        client = client_for(keyworker)

        response = client.post(reverse("referral-create"), intake())

        assert response.status_code == 400
        assert "This may be someone already registered" in response.content.decode()
        assert len(response.context["duplicates"]["visible"]) == 1
        assert not Referral.objects.exists()

        response = client.post(reverse("referral-create"), intake(confirm_not_duplicate="on"))
        assert response.status_code == 302
        assert Referral.objects.count() == 1

    def test_a_duplicate_in_another_clinic_is_counted_not_shown(self, client_for, keyworker, other_clinic):
        PatientFactory(
            clinic=other_clinic, given_name="Jamie", family_name="Lister", date_of_birth=dt.date(1988, 3, 14)
        )

        response = client_for(keyworker).post(reverse("referral-create"), intake())

        assert response.context["duplicates"] == {"visible": [], "elsewhere": 1}
        assert "1 record in another clinic" in response.content.decode()

    def test_prescribers_do_not_take_referrals_in(self, client_for, prescriber):
        assert client_for(prescriber).get(reverse("referral-create")).status_code == 403


class TestDecisions:
    def test_the_detail_page_shows_each_criterion_with_its_reason(self, client_for, keyworker, clinic):
        referral = ReferralFactory(clinic=clinic, date_of_birth=dt.date(2008, 11, 22), years_dependent=None)

        page = client_for(keyworker).get(reverse("referral-detail", args=[referral.pk])).content.decode()

        assert "Age 17 on 21 Nov 2026; this clinic requires 18 or over." in page
        assert "Years of dependence not recorded; this clinic requires 3 or more." in page
        assert "2 criteria not met or not known" in page

    def test_a_keyworker_assesses_and_recommends(self, client_for, keyworker, clinic):
        referral = ReferralFactory(clinic=clinic)
        client = client_for(keyworker)

        client.post(action(referral, "start-assessment"))
        response = client.post(action(referral, "recommend"), {"recommend-recommendation": "accept"})

        referral.refresh_from_db()
        assert response.status_code == 302
        assert (referral.status, referral.assessed_by) == (ReferralStatus.AWAITING_PRESCRIBER, keyworker)

    def test_a_keyworker_sees_no_accept_form_and_cannot_accept(self, client_for, keyworker, clinic):
        referral = ReferralFactory(clinic=clinic, status=ReferralStatus.AWAITING_PRESCRIBER, recommendation="accept")
        client = client_for(keyworker)

        page = client.get(reverse("referral-detail", args=[referral.pk])).content.decode()
        response = client.post(action(referral, "accept"), {})

        assert "Accept referral" not in page
        assert response.status_code == 403
        referral.refresh_from_db()
        assert referral.status == ReferralStatus.AWAITING_PRESCRIBER
        assert not Patient.objects.exists()

    def test_a_prescriber_accepts_and_the_patient_is_registered(self, client_for, prescriber, clinic):
        referral = ReferralFactory(clinic=clinic, status=ReferralStatus.AWAITING_PRESCRIBER, recommendation="accept")

        response = client_for(prescriber).post(action(referral, "accept"), {"accept-reason": "Meets all."})

        referral.refresh_from_db()
        assert referral.status == ReferralStatus.ACCEPTED
        assert response.status_code == 302
        assert response.url == f"/patients/{referral.patient_id}/"

    def test_an_override_without_a_reason_is_refused_on_the_form(self, client_for, prescriber, clinic):
        referral = ReferralFactory(
            clinic=clinic, status=ReferralStatus.AWAITING_PRESCRIBER, recommendation="accept", pregnant=True
        )

        response = client_for(prescriber).post(action(referral, "accept"), {})

        assert response.status_code == 400
        assert (
            "Not every criterion is met: no exclusion (not met)"
            in response.context["accept_form"].errors["override_reason"][0]
        )
        assert not Patient.objects.exists()

    def test_a_decline_without_a_reason_is_refused_on_the_form(self, client_for, prescriber, clinic):
        referral = ReferralFactory(clinic=clinic, status=ReferralStatus.AWAITING_PRESCRIBER, recommendation="accept")

        response = client_for(prescriber).post(action(referral, "decline"), {"decline-reason": ""})

        assert response.status_code == 400
        assert response.context["decline_form"].errors["reason"] == [
            "Say why this referral is declined; the referrer will be told."
        ]
        assert 'id="id_decline-reason_error"' in response.content.decode()
        referral.refresh_from_db()
        assert referral.status == ReferralStatus.AWAITING_PRESCRIBER


class TestEligibilitySettingsPage:
    def test_a_manager_edits_the_clinics_criteria(self, client_for, manager, clinic):
        client = client_for(manager)
        assert client.get(reverse("referral-eligibility")).status_code == 200

        response = client.post(
            reverse("referral-eligibility"),
            {
                "min_age": "25",
                "min_years_dependence": "5",
                "min_failed_oral_episodes": "2",
                "min_months_in_oral_treatment": "6",
                "min_injecting_share": "50",
            },
        )

        assert response.status_code == 302
        assert EligibilityCriteria.objects.get(clinic=clinic).min_age == 25

    def test_a_bad_value_is_named(self, client_for, manager):
        response = client_for(manager).post(
            reverse("referral-eligibility"),
            {
                "min_age": "10",
                "min_years_dependence": "3",
                "min_failed_oral_episodes": "2",
                "min_months_in_oral_treatment": "6",
                "min_injecting_share": "150",
            },
        )
        assert response.status_code == 400
        assert set(response.context["form"].errors) == {"min_age", "min_injecting_share"}

    def test_keyworkers_and_prescribers_cannot_change_the_criteria(self, client_for, keyworker, prescriber):
        for user in (keyworker, prescriber):
            assert client_for(user).get(reverse("referral-eligibility")).status_code == 403
