"""The referral API for staff (session authentication): same services, problem-details errors."""

import datetime as dt

import pytest

from patients.models import Episode, Patient
from referrals.models import Referral, ReferralStatus
from tests.factories import PatientFactory, ReferralFactory
from tests.factories.referrals import nhs_number

pytestmark = pytest.mark.django_db

URL = "/api/v1/referrals/"


def body(**overrides) -> dict:
    data = {
        "source": "police_diversion",
        "referrer_organisation": "Cleveland Police diversion scheme",
        "received_on": "2026-11-20",
        "given_name": "Lee",
        "family_name": "Harland",
        "date_of_birth": "1983-05-09",
        "nhs_number": nhs_number(21),
        "years_dependent": 12,
        "months_in_oral_treatment": 9,
        "injecting_days_last_3_months": 60,
        "pregnant": False,
        "contraindication": False,
        "previous_episodes": [
            {"kind": "methadone", "started_on": "2019-01-10", "ended_on": "2019-09-01", "why_ended": "failed"}
        ],
    }
    data.update(overrides)
    return data


def awaiting(clinic, **fields):
    return ReferralFactory(clinic=clinic, status=ReferralStatus.AWAITING_PRESCRIBER, recommendation="accept", **fields)


class TestList:
    def test_filtered_by_status_and_scoped_to_the_users_clinics(self, client_for, keyworker, clinic, other_clinic):
        new = ReferralFactory(clinic=clinic)
        awaiting(clinic)
        ReferralFactory(clinic=other_clinic)

        response = client_for(keyworker).get(URL, {"status": "new"})

        assert response.status_code == 200
        assert [row["id"] for row in response.json()["results"]] == [new.pk]

    def test_an_unknown_status_is_a_field_error(self, client_for, keyworker):
        response = client_for(keyworker).get(URL, {"status": "lost"})
        assert response.status_code == 400
        assert "status" in response.json()["errors"]

    def test_nurses_may_not_list_referrals(self, client_for, nurse):
        response = client_for(nurse).get(URL)
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"


class TestCreate:
    def test_a_keyworker_takes_a_referral_in(self, client_for, keyworker, clinic):
        response = client_for(keyworker).post(URL, body(), content_type="application/json")

        assert response.status_code == 201, response.json()
        data = response.json()
        assert data["status"] == "new"
        assert data["clinic"] == clinic.pk
        assert len(data["previous_episodes"]) == 1
        assert {c["key"]: c["outcome"] for c in data["assessment"]["criteria"]} == {
            "age": "met",
            "dependence": "met",
            "oral_treatment": "met",
            "exclusions": "met",
        }

    def test_an_invalid_nhs_number_is_a_400_naming_the_field(self, client_for, keyworker):
        response = client_for(keyworker).post(URL, body(nhs_number="1234567890"), content_type="application/json")

        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        assert "check digit" in response.json()["errors"]["nhs_number"][0]
        assert not Referral.objects.exists()

    def test_a_bad_episode_is_named_by_its_position(self, client_for, keyworker):
        episodes = [{"kind": "methadone", "started_on": "2019-01-10", "why_ended": "lost"}]
        response = client_for(keyworker).post(URL, body(previous_episodes=episodes), content_type="application/json")
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["previous_episodes[0].why_ended"]

    def test_a_date_of_birth_in_the_future_is_refused(self, client_for, keyworker):
        response = client_for(keyworker).post(URL, body(date_of_birth="2030-01-01"), content_type="application/json")
        assert response.json()["errors"] == {"date_of_birth": ["The date of birth cannot be in the future."]}

    def test_a_second_open_referral_is_refused(self, client_for, keyworker, clinic):
        ReferralFactory(clinic=clinic, nhs_number=nhs_number(21))
        response = client_for(keyworker).post(URL, body(), content_type="application/json")
        assert response.status_code == 400
        assert "There is already an open referral for the same NHS number" in response.json()["errors"]["nhs_number"][0]

    def test_a_possible_duplicate_patient_needs_confirmation(self, client_for, keyworker, clinic):
        PatientFactory(clinic=clinic, given_name="Lee", family_name="Harland", date_of_birth=dt.date(1983, 5, 9))
        client = client_for(keyworker)

        first = client.post(URL, body(), content_type="application/json")
        second = client.post(URL, body(confirm_not_duplicate=True), content_type="application/json")

        assert first.status_code == 400
        assert "confirm_not_duplicate" in first.json()["errors"]
        assert second.status_code == 201

    def test_a_clinic_not_ones_own_is_refused(self, client_for, keyworker, other_clinic):
        response = client_for(keyworker).post(URL, body(clinic=other_clinic.pk), content_type="application/json")
        assert response.json()["errors"] == {"clinic": ["Choose one of your clinics."]}


class TestDetailAndActions:
    def test_detail_includes_the_assessment_with_reasons(self, client_for, prescriber, clinic):
        referral = ReferralFactory(clinic=clinic, years_dependent=2)

        data = client_for(prescriber).get(f"{URL}{referral.pk}/").json()

        assert data["assessment"]["eligible"] is False
        dependence = next(c for c in data["assessment"]["criteria"] if c["key"] == "dependence")
        assert dependence == {
            "key": "dependence",
            "label": "Years of opioid dependence",
            "outcome": "not_met",
            "reason": "2 years of opioid dependence; this clinic requires 3 or more.",
        }

    def test_another_clinics_referral_is_not_found(self, client_for, other_keyworker, clinic):
        referral = awaiting(clinic)
        client = client_for(other_keyworker)
        assert client.get(f"{URL}{referral.pk}/").status_code == 404
        assert (
            client.post(f"{URL}{referral.pk}/withdraw/", {"reason": "x"}, content_type="application/json").status_code
            == 404
        )

    def test_a_keyworker_recommends(self, client_for, keyworker, clinic):
        referral = ReferralFactory(clinic=clinic)
        client = client_for(keyworker)
        assert client.post(f"{URL}{referral.pk}/start-assessment/").json()["status"] == "assessing"
        response = client.post(
            f"{URL}{referral.pk}/recommend/", {"recommendation": "accept"}, content_type="application/json"
        )
        assert response.json()["status"] == "awaiting_prescriber"

    def test_a_keyworker_cannot_accept(self, client_for, keyworker, clinic):
        referral = awaiting(clinic)

        response = client_for(keyworker).post(f"{URL}{referral.pk}/accept/", {}, content_type="application/json")

        assert response.status_code == 403
        assert not Patient.objects.exists()

    def test_a_prescriber_accepts_and_the_patient_is_registered(self, client_for, prescriber, clinic):
        referral = awaiting(clinic)

        response = client_for(prescriber).post(f"{URL}{referral.pk}/accept/", {}, content_type="application/json")

        assert response.status_code == 200
        data = response.json()
        assert data["status"] == "accepted"
        assert Episode.objects.filter(patient_id=data["patient"], ended_on__isnull=True).count() == 1

    def test_an_override_needs_a_reason(self, client_for, prescriber, clinic):
        referral = awaiting(clinic, contraindication=None)
        client = client_for(prescriber)

        refused = client.post(f"{URL}{referral.pk}/accept/", {}, content_type="application/json")
        accepted = client.post(
            f"{URL}{referral.pk}/accept/",
            {"override_reason": "Asked at the first dose."},
            content_type="application/json",
        )

        assert refused.status_code == 400
        assert "override_reason" in refused.json()["errors"]
        assert accepted.json()["override_reason"] == "Asked at the first dose."

    def test_a_decline_needs_a_reason(self, client_for, prescriber, clinic):
        referral = awaiting(clinic)
        response = client_for(prescriber).post(
            f"{URL}{referral.pk}/decline/", {"reason": ""}, content_type="application/json"
        )
        assert response.status_code == 400
        assert response.json()["errors"] == {
            "reason": ["Say why this referral is declined; the referrer will be told."]
        }
        assert response.json()["detail"] == "reason: Say why this referral is declined; the referrer will be told."


class TestEligibilityCriteriaApi:
    def test_a_manager_reads_and_changes_them(self, client_for, manager, clinic):
        url = f"/api/v1/clinics/{clinic.pk}/eligibility-criteria/"
        client = client_for(manager)
        assert client.get(url).json()["min_age"] == 18
        changed = client.put(
            url,
            {
                "min_age": 20,
                "min_years_dependence": 2,
                "min_failed_oral_episodes": 2,
                "min_months_in_oral_treatment": 6,
                "min_injecting_share": 50,
            },
            content_type="application/json",
        )
        assert changed.status_code == 200
        assert changed.json()["min_age"] == 20

    def test_a_keyworker_reads_but_cannot_change_them(self, client_for, keyworker, clinic):
        url = f"/api/v1/clinics/{clinic.pk}/eligibility-criteria/"
        client = client_for(keyworker)
        assert client.get(url).status_code == 200
        assert client.put(url, {"min_age": 16}, content_type="application/json").status_code == 403

    def test_another_clinics_criteria_are_not_found(self, client_for, other_nurse, manager, clinic):
        assert client_for(manager).get(f"/api/v1/clinics/{clinic.pk + 1000}/eligibility-criteria/").status_code == 404
