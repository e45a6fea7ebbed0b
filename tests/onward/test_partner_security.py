"""Issue 11, holes 4, 5, 6 and 13, attacked from outside: a partner's system with a real OAuth2 token.

The personas: Tees Housing (and a probation service) work with both the Middlesbrough and the
Darlington clinic; each clinic refers one of its patients to it.
"""

import datetime as dt

import pytest
import requests
from django.urls import reverse

from partners.models import PartnerClient
from referrals.models import Referral
from tests.factories import PartnerClientFactory, PartnerFactory, PatientFactory, StaffFactory
from tests.factories.referrals import ReferralFactory, consent_to_share, make_onward_referral
from tests.onward.conftest import NOW
from tests.onward.partner_http import PartnerSystem

pytestmark = pytest.mark.django_db(transaction=True)

READ_WRITE = ["referrals:read", "referrals:write"]


@pytest.fixture
def shared(clinic, other_clinic):
    return PartnerFactory(name="Tees Housing", kind="housing", clinics=[clinic, other_clinic])


@pytest.fixture
def referrals(clinic, other_clinic, keyworker, other_keyworker, shared):
    """One onward referral to Tees Housing from each clinic, with live consent."""
    made = {}
    for key, where, worker, name in (
        ("mbro", clinic, keyworker, "Samantha"),
        ("darl", other_clinic, other_keyworker, "Dominic"),
    ):
        patient = PatientFactory(clinic=where, given_name=name, phone="07700 900123", contact_route="phone")
        consent_to_share(patient, shared, recorded_by=worker, at=NOW - dt.timedelta(days=30))
        made[key] = make_onward_referral(patient=patient, partner=shared, created_by=worker)
    return made


def client_of(other_clinic_manager_client, partner, scopes=("referrals:read", "referrals:write")):
    """A client made the way a manager makes one, on the page (so the test means the same before and after)."""
    page = other_clinic_manager_client.post(
        reverse("partner-client-create", args=[partner.pk]), {"label": "Case system", "scopes": list(scopes)}
    )
    assert page.status_code == 200
    text = page.content.decode()
    client_id = text.split('id="client-id"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    secret = text.split('id="client-secret"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    client = PartnerClient.objects.get(client_id=client_id)
    client.secret = secret
    return client


@pytest.fixture
def darlington_system(live_server, client, other_clinic, shared):
    """Tees Housing's system, with the client Darlington's manager made for it."""
    client.force_login(StaffFactory(username="oscar.manager", roles=["clinic_manager"], clinics=[other_clinic]))
    return PartnerSystem(live_server, client_of(client, shared))


# --- Hole 4: a client reads only the referrals of the clinic it was issued for ---------------------------


def test_a_client_issued_by_one_clinic_does_not_read_the_other_clinics_referrals(darlington_system, referrals):
    listed = darlington_system.get("/referrals/")

    assert listed.status_code == 200
    assert [r["reference"] for r in listed.json()["results"]] == [referrals["darl"].reference]
    assert "Samantha" not in listed.text
    mbro = referrals["mbro"].reference
    assert darlington_system.get(f"/referrals/{mbro}/").status_code == 404
    assert darlington_system.post(f"/referrals/{mbro}/notes/", {"text": "hello"}).status_code == 404
    acknowledge = darlington_system.post(f"/referrals/{mbro}/acknowledge/", headers={"If-Match": f'"{mbro}.v1"'})
    assert acknowledge.status_code == 404
    assert darlington_system.get(f"/referrals/{referrals['darl'].reference}/").status_code == 200


def test_a_client_stops_when_its_clinic_no_longer_works_with_the_partner(
    live_server, shared, referrals, clinic, other_clinic
):
    api_client = PartnerClientFactory(partner=shared, clinic=other_clinic)
    system = PartnerSystem(live_server, api_client)
    assert system.get("/referrals/").status_code == 200

    shared.clinics.remove(other_clinic)

    assert system.get("/referrals/").status_code == 401
    assert PartnerClient.objects.active().filter(pk=api_client.pk).count() == 0
    token = requests.post(
        f"{live_server.url}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(api_client.client_id, api_client.secret),
        timeout=10,
    )
    assert token.status_code == 401


# --- Hole 5: an idempotent replay re-checks access ----------------------------------------------------------


def test_a_replay_after_consent_withdrawal_answers_404_not_the_stored_referral(
    live_server, client_for, shared, referrals, clinic, keyworker
):
    system = PartnerSystem(live_server, PartnerClientFactory(partner=shared, clinic=clinic, scopes=READ_WRITE))
    referral = referrals["mbro"]
    path = f"/referrals/{referral.reference}/acknowledge/"
    headers = {"If-Match": f'"{referral.reference}.v1"', "Idempotency-Key": "ack-1"}
    first = system.post(path, headers=headers)
    assert first.status_code == 200 and "Samantha" in first.text

    withdrawn = client_for(keyworker).post(
        reverse("patient-consent-new", args=[referral.patient_id]),
        {"kind": "data_sharing", "partner": shared.pk, "decision": "withdrawn", "notes": ""},
    )
    assert withdrawn.status_code == 302
    replay = system.post(path, headers=headers)

    assert system.get(f"/referrals/{referral.reference}/").status_code == 404
    assert replay.status_code == 404
    assert "Samantha" not in replay.text and "07700" not in replay.text


def test_a_replayed_note_after_withdrawal_answers_404(live_server, client_for, shared, referrals, clinic, keyworker):
    system = PartnerSystem(live_server, PartnerClientFactory(partner=shared, clinic=clinic, scopes=READ_WRITE))
    referral = referrals["mbro"]
    path = f"/referrals/{referral.reference}/notes/"
    key = {"Idempotency-Key": "note-1"}
    assert system.post(path, {"text": "Called Samantha on 07700 900123."}, headers=key).status_code == 201

    client_for(keyworker).post(
        reverse("patient-consent-new", args=[referral.patient_id]),
        {"kind": "data_sharing", "partner": shared.pk, "decision": "withdrawn", "notes": ""},
    )
    replay = system.post(path, {"text": "Called Samantha on 07700 900123."}, headers=key)

    assert replay.status_code == 404
    assert "07700" not in replay.text


def test_a_staff_replay_after_leaving_the_clinic_answers_404(client_for, keyworker, referrals, clinic, shared):
    patient = referrals["mbro"].patient
    client = client_for(keyworker)
    body = {
        "patient": patient.pk,
        "partner": shared.pk,
        "need_kind": "housing",
        "need": "A flat.",
        "contact_route": "phone",
    }
    created = client.post("/api/v1/onward-referrals/", body, HTTP_IDEMPOTENCY_KEY="k1", content_type="application/json")
    note = f"/api/v1/onward-referrals/{referrals['mbro'].pk}/notes/"
    noted = client.post(note, {"text": "Phoned."}, HTTP_IDEMPOTENCY_KEY="k2", content_type="application/json")
    assert (created.status_code, noted.status_code) == (201, 201)

    keyworker.clinics.remove(clinic)
    replayed = client.post(
        "/api/v1/onward-referrals/", body, HTTP_IDEMPOTENCY_KEY="k1", content_type="application/json"
    )
    replayed_note = client.post(note, {"text": "Phoned."}, HTTP_IDEMPOTENCY_KEY="k2", content_type="application/json")

    assert replayed.status_code == replayed_note.status_code == 404
    assert "Samantha" not in replayed.content.decode()


# --- Hole 6: withdrawal works whatever the partner's state ------------------------------------------------


@pytest.mark.parametrize("how", ["unlinked", "deactivated"])
def test_consent_is_withdrawn_on_the_page_after_the_partner_left_the_clinic(
    live_server, client_for, shared, referrals, clinic, keyworker, how
):
    referral = referrals["mbro"]
    if how == "unlinked":
        shared.clinics.remove(clinic)
    else:
        shared.is_active = False
        shared.save()

    response = client_for(keyworker).post(
        reverse("patient-consent-new", args=[referral.patient_id]),
        {"kind": "data_sharing", "partner": shared.pk, "decision": "withdrawn", "notes": "No longer wants it."},
    )

    assert response.status_code == 302, response.content.decode()
    # Linked again and active again, the partner still reads nothing of this patient.
    shared.clinics.add(clinic)
    shared.is_active = True
    shared.save()
    system = PartnerSystem(live_server, PartnerClientFactory(partner=shared, clinic=clinic))
    assert system.get(f"/referrals/{referral.reference}/").status_code == 404


def test_consent_is_withdrawn_through_the_api_after_the_partner_was_unlinked(
    client_for, shared, referrals, clinic, keyworker
):
    referral = referrals["mbro"]
    shared.clinics.remove(clinic)

    response = client_for(keyworker).post(
        f"/api/v1/patients/{referral.patient_id}/consents/",
        {"kind": "data_sharing", "partner": shared.pk, "decision": "withdrawn"},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content.decode()
    again = client_for(keyworker).post(
        f"/api/v1/patients/{referral.patient_id}/consents/",
        {"kind": "data_sharing", "partner": shared.pk, "decision": "given"},
        content_type="application/json",
    )
    assert again.status_code == 400  # giving consent still needs a partner of the clinic
    assert "partner" in again.json()["errors"]


# --- Hole 13: an incoming referral answers the same whoever we already know ---------------------------------


@pytest.fixture
def probation_system(live_server, clinic, other_clinic):
    probation = PartnerFactory(name="Probation Tees", kind="probation", clinics=[clinic, other_clinic])
    return PartnerSystem(
        live_server, PartnerClientFactory(partner=probation, clinic=clinic, scopes=["referrals:submit"])
    )


PERSON = {"given_name": "Lee", "family_name": "Harland", "date_of_birth": "1983-05-09", "referrer_name": "Jo Bell"}


def test_probation_cannot_learn_that_a_person_is_referred_elsewhere(probation_system, other_clinic, keyworker):
    ReferralFactory(clinic=other_clinic, given_name="Lee", family_name="Harland", date_of_birth=dt.date(1983, 5, 9))

    known = probation_system.post("/incoming-referrals/", {**PERSON, "clinic": "mbro"})
    unknown = probation_system.post("/incoming-referrals/", {**PERSON, "clinic": "mbro", "given_name": "Leo"})

    assert known.status_code == unknown.status_code == 201, known.text
    assert set(known.json()) == set(unknown.json())
    assert known.json()["status"] == unknown.json()["status"] == "received"
    taken = Referral.objects.get(pk=known.json()["id"])
    assert taken.possible_duplicate_of is not None  # staff see it when they review


def test_staff_see_the_possible_duplicate_when_they_review_it(probation_system, client_for, clinic, keyworker):
    first = ReferralFactory(clinic=clinic, given_name="Lee", family_name="Harland", date_of_birth=dt.date(1983, 5, 9))

    response = probation_system.post("/incoming-referrals/", {**PERSON, "clinic": "mbro"})
    page = client_for(keyworker).get(reverse("referral-detail", args=[response.json()["id"]])).content.decode()

    assert response.status_code == 201
    assert "already an open referral" in page
    assert f"referral {first.pk}" in page.lower()
