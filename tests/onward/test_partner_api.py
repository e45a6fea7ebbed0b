"""The partner API through real HTTP with real OAuth2 tokens (SPEC 6; issue 6, done-when 1)."""

import datetime as dt

import pytest
import requests
from django.utils import timezone
from oauth2_provider.models import AccessToken

from onward.models import OnwardReferral, OnwardReferralEvent, OnwardStatus
from referrals.models import Referral
from tests.factories import PartnerClientFactory, PartnerFactory
from tests.factories.referrals import consent_to_share, make_onward_referral, withdraw_consent
from tests.onward.conftest import NOW
from tests.onward.partner_http import PartnerSystem

pytestmark = pytest.mark.django_db(transaction=True)

IN_THREE_DAYS = "2026-11-24T10:00:00Z"


@pytest.fixture
def referral(sharing_patient, housing, keyworker):
    return make_onward_referral(patient=sharing_patient, partner=housing, created_by=keyworker)


@pytest.fixture
def housing_api(live_server, api_clients):
    return PartnerSystem(live_server, api_clients["housing"])


@pytest.fixture
def employment_api(live_server, api_clients):
    return PartnerSystem(live_server, api_clients["employment"])


# --- Who sees what -------------------------------------------------------------------------


def test_a_partner_lists_and_reads_its_own_referral_with_the_minimum_data(housing_api, referral):
    listed = housing_api.get("/referrals/")

    assert listed.status_code == 200, listed.text
    assert [r["reference"] for r in listed.json()["results"]] == [referral.reference]
    read = housing_api.get(f"/referrals/{referral.reference}/")
    assert read.status_code == 200
    assert read.headers["ETag"] == f'"{referral.reference}.v1"'
    body = read.json()
    assert body["patient"] == {"first_name": "Samantha", "family_name_initial": "T"}
    assert body["contact_route"] == "phone"
    assert body["contact_detail"] == "07700 900123"  # the phone, for the phone route only
    assert set(body) == {
        "reference", "status", "patient", "contact_route", "contact_detail", "need_kind", "need", "clinic",
        "referred_at", "acknowledged_at", "appointment_at", "outcome", "closed_at", "updated_at", "version",
    }  # fmt: skip
    text = read.text
    for private in ("Taylor", "sam@example.invalid", "Linthorpe", str(referral.patient.date_of_birth.year)):
        assert private not in text


def test_a_partner_sees_only_the_contact_detail_of_the_agreed_route(housing_api, sharing_patient, housing, keyworker):
    by_email = make_onward_referral(
        patient=sharing_patient, partner=housing, created_by=keyworker, contact_route="email"
    )

    body = housing_api.get(f"/referrals/{by_email.reference}/").json()

    assert body["contact_detail"] == "sam@example.invalid"
    assert "07700" not in str(body)


def test_partner_b_cannot_list_read_or_update_partner_as_referral(employment_api, referral):
    assert employment_api.get("/referrals/").json()["results"] == []
    assert employment_api.get(f"/referrals/{referral.reference}/").status_code == 404
    update = employment_api.post(
        f"/referrals/{referral.reference}/acknowledge/", headers={"If-Match": f'"{referral.reference}.v1"'}
    )
    assert update.status_code == 404
    assert update.headers["Content-Type"].startswith("application/problem+json")
    assert employment_api.post(f"/referrals/{referral.reference}/notes/", {"text": "hello"}).status_code == 404
    referral.refresh_from_db()
    assert referral.status == OnwardStatus.SENT
    assert not OnwardReferralEvent.objects.filter(by_partner__isnull=False).exists()


def test_withdrawing_consent_hides_the_referral_at_once(housing_api, referral, sharing_patient, housing, keyworker):
    assert housing_api.get(f"/referrals/{referral.reference}/").status_code == 200

    withdraw_consent(sharing_patient, housing, recorded_by=keyworker, at=timezone.now() - dt.timedelta(seconds=1))

    assert housing_api.get(f"/referrals/{referral.reference}/").status_code == 404
    assert housing_api.get("/referrals/").json()["results"] == []
    acknowledge = housing_api.post(
        f"/referrals/{referral.reference}/acknowledge/", headers={"If-Match": f'"{referral.reference}.v1"'}
    )
    assert acknowledge.status_code == 404


def test_consent_given_again_shows_the_referral_again(housing_api, referral, sharing_patient, housing, keyworker):
    withdraw_consent(sharing_patient, housing, recorded_by=keyworker, at=NOW - dt.timedelta(hours=2))
    assert housing_api.get(f"/referrals/{referral.reference}/").status_code == 404

    consent_to_share(sharing_patient, housing, recorded_by=keyworker, at=NOW - dt.timedelta(hours=1))

    assert housing_api.get(f"/referrals/{referral.reference}/").status_code == 200


# --- Tokens and scopes ----------------------------------------------------------------------


def test_an_unknown_token_gets_401_and_an_expired_one_too(live_server, housing_api, referral):
    unknown = PartnerSystem(live_server, token="not-a-token").get("/referrals/")
    assert unknown.status_code == 401
    assert unknown.headers["WWW-Authenticate"].startswith("Bearer")
    assert requests.get(f"{live_server.url}/api/v1/partner/referrals/", timeout=10).status_code == 401

    AccessToken.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))

    expired = housing_api.get(f"/referrals/{referral.reference}/")
    assert expired.status_code == 401
    assert expired.json()["detail"] == "The access token is unknown, expired or revoked."


def test_a_read_only_token_may_read_but_not_change(live_server, housing, referral):
    reader = PartnerSystem(live_server, PartnerClientFactory(partner=housing, scopes=["referrals:read"]))

    assert reader.get(f"/referrals/{referral.reference}/").status_code == 200
    refused = reader.change(referral.reference, "acknowledge")
    assert refused.status_code == 403
    assert "referrals:write" in refused.json()["detail"]
    assert reader.post("/incoming-referrals/", {"given_name": "Sam"}).status_code == 403


def test_a_write_only_token_may_not_list(live_server, housing, referral):
    writer = PartnerSystem(live_server, PartnerClientFactory(partner=housing, scopes=["referrals:write"]))

    assert writer.get("/referrals/").status_code == 403


# --- ETag and If-Match ----------------------------------------------------------------------


def test_a_change_needs_if_match_428_when_missing_412_when_stale_200_when_fresh(housing_api, referral):
    path = f"/referrals/{referral.reference}/acknowledge/"
    etag = housing_api.get(f"/referrals/{referral.reference}/").headers["ETag"]

    missing = housing_api.post(path)
    assert missing.status_code == 428
    assert missing.headers["Content-Type"].startswith("application/problem+json")
    assert "If-Match" in missing.json()["detail"]

    fresh = housing_api.post(path, headers={"If-Match": etag})
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["status"] == "acknowledged"
    assert fresh.headers["ETag"] == f'"{referral.reference}.v2"'

    stale = housing_api.post(
        f"/referrals/{referral.reference}/appointment/", {"appointment_at": IN_THREE_DAYS}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.json()["status"] == 412
    referral.refresh_from_db()
    assert referral.status == OnwardStatus.ACKNOWLEDGED and referral.appointment_at is None


def test_an_if_match_of_another_referral_is_refused(housing_api, referral, sharing_patient, housing, keyworker):
    other = make_onward_referral(patient=sharing_patient, partner=housing, created_by=keyworker)

    response = housing_api.post(
        f"/referrals/{referral.reference}/acknowledge/", headers={"If-Match": f'"{other.reference}.v1"'}
    )

    assert response.status_code == 412


# --- Idempotency-Key ------------------------------------------------------------------------


def test_the_same_key_and_body_replays_the_first_answer_and_another_body_gets_422(housing_api, referral):
    path = f"/referrals/{referral.reference}/notes/"
    key = {"Idempotency-Key": "2f1c9a1e-note-1"}

    first = housing_api.post(path, {"text": "Left a voicemail."}, headers=key)
    again = housing_api.post(path, {"text": "Left a voicemail."}, headers=key)
    other = housing_api.post(path, {"text": "Something else."}, headers=key)

    assert first.status_code == 201, first.text
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.headers["Content-Type"].startswith("application/problem+json")
    assert "Idempotency-Key" in other.json()["detail"]
    assert OnwardReferralEvent.objects.filter(kind="note").count() == 1


def test_a_replayed_change_is_not_made_twice_even_with_a_now_stale_if_match(housing_api, referral):
    etag = housing_api.get(f"/referrals/{referral.reference}/").headers["ETag"]
    headers = {"If-Match": etag, "Idempotency-Key": "book-1"}
    path = f"/referrals/{referral.reference}/appointment/"

    first = housing_api.post(path, {"appointment_at": IN_THREE_DAYS}, headers=headers)
    again = housing_api.post(path, {"appointment_at": IN_THREE_DAYS}, headers=headers)

    assert first.status_code == 200, first.text
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["ETag"] == first.headers["ETag"] == f'"{referral.reference}.v2"'
    assert OnwardReferralEvent.objects.filter(kind="appointment").count() == 1


def test_keys_are_per_client(housing_api, employment_api, referral, sharing_patient, employment, keyworker):
    theirs = make_onward_referral(patient=sharing_patient, partner=employment, created_by=keyworker)
    key = {"Idempotency-Key": "same-key"}

    mine = housing_api.post(f"/referrals/{referral.reference}/notes/", {"text": "A"}, headers=key)
    other = employment_api.post(f"/referrals/{theirs.reference}/notes/", {"text": "B"}, headers=key)

    assert mine.status_code == other.status_code == 201
    assert OnwardReferralEvent.objects.filter(kind="note").count() == 2


def test_a_refused_request_does_not_use_up_its_key(housing_api, referral):
    path = f"/referrals/{referral.reference}/notes/"
    key = {"Idempotency-Key": "retry-after-fix"}

    assert housing_api.post(path, {"text": ""}, headers=key).status_code == 400
    assert housing_api.post(path, {"text": "Now with text."}, headers=key).status_code == 201


# --- Bad input --------------------------------------------------------------------------------


def test_an_invalid_transition_is_400_naming_status(housing_api, referral):
    response = housing_api.change(referral.reference, "attendance", {"attended": True})

    assert response.status_code == 400
    body = response.json()
    assert "status" in body["errors"]
    assert "cannot become 'attended'" in body["errors"]["status"][0]


def test_an_appointment_in_the_past_or_malformed_is_400_naming_appointment_at(housing_api, referral):
    past = housing_api.change(referral.reference, "appointment", {"appointment_at": "2026-11-20T10:00:00Z"})
    malformed = housing_api.change(referral.reference, "appointment", {"appointment_at": "next tuesday"})

    assert past.status_code == 400
    assert "in the past" in past.json()["errors"]["appointment_at"][0]
    assert malformed.status_code == 400
    assert "appointment_at" in malformed.json()["errors"]


def test_list_filters_refuse_a_malformed_date_or_status(housing_api, referral):
    assert housing_api.get("/referrals/", params={"updated_since": "yesterday"}).status_code == 400
    assert "updated_since" in housing_api.get("/referrals/", params={"updated_since": "2026-13-45"}).json()["errors"]
    assert "status" in housing_api.get("/referrals/", params={"status": "lost"}).json()["errors"]
    assert housing_api.get("/referrals/", params={"cursor": "!!"}).status_code == 400


# --- The whole journey, filters and pages -------------------------------------------------------


def test_a_partner_takes_a_referral_from_acknowledgement_to_closed(housing_api, referral):
    ref = referral.reference
    assert housing_api.change(ref, "acknowledge").json()["status"] == "acknowledged"
    assert housing_api.change(ref, "appointment", {"appointment_at": IN_THREE_DAYS}).json()["status"] == (
        "appointment_booked"
    )
    assert housing_api.change(ref, "appointment", {"appointment_at": "2026-11-25T14:30:00Z"}).status_code == 200

    early = housing_api.change(ref, "attendance", {"attended": True})
    assert early.status_code == 400  # before the appointment
    OnwardReferral.objects.filter(pk=referral.pk).update(appointment_at=NOW - dt.timedelta(hours=1))
    assert housing_api.change(ref, "attendance", {"attended": True}).json()["status"] == "attended"
    closed = housing_api.change(ref, "close", {"outcome": "need_met", "notes": "Tenancy signed."})

    assert closed.status_code == 200
    assert closed.json()["outcome"] == "need_met"
    assert housing_api.change(ref, "acknowledge").status_code == 400  # closed is final
    events = list(OnwardReferralEvent.objects.filter(referral=referral).values_list("kind", "to_status"))
    assert events == [
        ("created", "sent"),
        ("status", "acknowledged"),
        ("appointment", "appointment_booked"),
        ("appointment", "appointment_booked"),
        ("status", "attended"),
        ("status", "closed"),
    ]


def test_the_list_filters_by_status_and_updated_since_and_pages_stably(
    housing_api, sharing_patient, housing, keyworker
):
    made = [
        make_onward_referral(
            patient=sharing_patient, partner=housing, created_by=keyworker, now=NOW - dt.timedelta(days=d)
        )
        for d in (5, 4, 3)
    ]
    housing_api.change(made[0].reference, "acknowledge")  # now the most recently updated

    page1 = housing_api.get("/referrals/", params={"page_size": 2}).json()
    page2 = housing_api.get("/referrals/", params={"page_size": 2, "cursor": page1["next_cursor"]}).json()

    order = [r["reference"] for r in page1["results"] + page2["results"]]
    assert order == [made[1].reference, made[2].reference, made[0].reference]
    assert page2["next_cursor"] is None
    acknowledged = housing_api.get("/referrals/", params={"status": "acknowledged"}).json()["results"]
    assert [r["reference"] for r in acknowledged] == [made[0].reference]
    recent = housing_api.get("/referrals/", params={"updated_since": "2026-11-21T00:00:00Z"}).json()["results"]
    assert [r["reference"] for r in recent] == [made[0].reference]


# --- Incoming referrals from police and probation ---------------------------------------------------


def test_probation_submits_an_incoming_referral_to_the_clinics_inbox(live_server, clinic, other_clinic):
    probation = PartnerFactory(name="Probation Tees", kind="probation", clinics=[clinic])
    api = PartnerSystem(live_server, PartnerClientFactory(partner=probation, scopes=["referrals:submit"]))
    body = {
        "clinic": "mbro",
        "given_name": "Lee",
        "family_name": "Harland",
        "date_of_birth": "1983-05-09",
        "phone": "07700 900555",
        "contact_route": "phone",
        "referrer_name": "Jo Bell",
    }

    response = api.post("/incoming-referrals/", body, headers={"Idempotency-Key": "in-1"})
    again = api.post("/incoming-referrals/", body, headers={"Idempotency-Key": "in-1"})

    assert response.status_code == 201, response.text
    assert again.json() == response.json()
    referral = Referral.objects.get()
    assert (referral.clinic, referral.source, referral.status) == (clinic, "probation", "new")
    assert referral.submitted_by_partner == probation and referral.created_by is None
    assert referral.referrer_organisation == "Probation Tees"
    elsewhere = api.post("/incoming-referrals/", {**body, "clinic": "darl", "given_name": "Leo"})
    assert elsewhere.status_code == 400
    assert "clinic" in elsewhere.json()["errors"]
    duplicate = api.post("/incoming-referrals/", body)
    # Received like any other (issue 11): the answer says nothing about who we know; staff see the link.
    assert duplicate.status_code == 201
    assert set(duplicate.json()) == {"id", "clinic", "received_on", "status"}
    assert Referral.objects.get(pk=duplicate.json()["id"]).possible_duplicate_of == referral


def test_a_housing_partner_cannot_submit_referrals(housing_api):
    response = housing_api.post("/incoming-referrals/", {"given_name": "Sam"})

    assert response.status_code == 403
