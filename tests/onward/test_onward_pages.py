"""Keyworkers' onward-referral pages and the staff API (session authentication)."""

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from deliveries.models import MessageStatus, OutboxMessage
from onward.models import OnwardReferral
from tests.factories import PatientFactory
from tests.factories.referrals import make_onward_referral
from tests.onward.conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral(sharing_patient, housing, keyworker):
    return make_onward_referral(patient=sharing_patient, partner=housing, created_by=keyworker)


# --- Pages ---------------------------------------------------------------------------------------


def test_a_keyworker_makes_an_onward_referral_from_the_form(client_for, keyworker, sharing_patient, housing):
    client = client_for(keyworker)
    url = reverse("onward-referral-create") + f"?patient={sharing_patient.pk}"

    form = client.get(url)
    assert form.status_code == 200
    assert b"Thirteen Housing" in form.content and b"Routes to Work" in form.content
    response = client.post(
        url,
        {
            "patient": sharing_patient.pk,
            "partner": housing.pk,
            "need_kind": "housing",
            "need": "Needs a tenancy.",
            "contact_route": "phone",
            "note": "Agreed in clinic today.",
        },
    )

    referral = OnwardReferral.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("onward-referral-detail", args=[referral.pk])
    detail = client.get(response["Location"])
    assert referral.reference in detail.content.decode()
    assert "What the partner sees" in detail.content.decode()
    assert "Agreed in clinic today." in detail.content.decode()


def test_the_form_explains_when_no_partner_has_consent(client_for, keyworker, clinic, housing):
    patient = PatientFactory(clinic=clinic)

    page = client_for(keyworker).get(reverse("onward-referral-create") + f"?patient={patient.pk}")

    assert page.status_code == 200
    assert "has not agreed to share their details with any partner" in page.content.decode()
    assert b"Send the referral" not in page.content


def test_the_form_shows_a_refusal_next_to_the_field(client_for, keyworker, sharing_patient, housing):
    sharing_patient.phone = ""
    sharing_patient.save()

    response = client_for(keyworker).post(
        reverse("onward-referral-create") + f"?patient={sharing_patient.pk}",
        {"partner": housing.pk, "need_kind": "housing", "need": "x", "contact_route": "phone"},
    )

    assert response.status_code == 400
    assert "no phone number" in response.content.decode()
    assert not OnwardReferral.objects.exists()


def test_a_patients_list_and_the_status_form(client_for, keyworker, referral, sharing_patient):
    client = client_for(keyworker)

    listed = client.get(reverse("onward-referral-list") + f"?patient={sharing_patient.pk}")
    assert referral.reference in listed.content.decode()
    changed = client.post(
        reverse("onward-referral-action", args=[referral.pk, "status"]),
        {"version": 1, "status": "acknowledged"},
    )
    stale = client.post(
        reverse("onward-referral-action", args=[referral.pk, "status"]),
        {"version": 1, "status": "closed", "outcome": "need_met"},
    )
    invalid = client.post(
        reverse("onward-referral-action", args=[referral.pk, "status"]), {"version": 2, "status": "attended"}
    )

    assert changed.status_code == 302
    assert stale.status_code == 400 and "changed this referral while you were looking" in stale.content.decode()
    assert invalid.status_code == 400 and "cannot become" in invalid.content.decode()
    referral.refresh_from_db()
    assert referral.status == "acknowledged"


def test_pages_are_for_keyworkers_of_the_clinic(client, client_for, referral, other_keyworker, nurse):
    detail = reverse("onward-referral-detail", args=[referral.pk])

    assert client_for(other_keyworker).get(detail).status_code == 404
    assert client_for(nurse).get(detail).status_code == 403
    assert client_for(nurse).get(reverse("onward-failed-deliveries")).status_code == 403


def test_failed_deliveries_are_listed_and_resent(client_for, keyworker, referral, other_keyworker):
    message = OutboxMessage.objects.get(cancel_key=referral.cancel_key, kind="referral.not_acknowledged")
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.FAILED, failed_at=NOW, last_error="webhook: the endpoint answered HTTP 500"
    )
    client = client_for(keyworker)

    page = client.get(reverse("onward-failed-deliveries"))
    assert "HTTP 500" in page.content.decode()
    assert client_for(other_keyworker).post(reverse("onward-delivery-resend", args=[message.pk])).status_code == 404
    client = client_for(keyworker)
    resent = client.post(reverse("onward-delivery-resend", args=[message.pk]))

    assert resent.status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING and message.resent_by == keyworker


# --- Staff API ----------------------------------------------------------------------------------------


def test_staff_api_creates_reads_changes_and_shows_the_timeline(client_for, keyworker, sharing_patient, employment):
    client = client_for(keyworker)
    body = {
        "patient": sharing_patient.pk,
        "partner": employment.pk,
        "need_kind": "employment",
        "need": "Back into work.",
        "contact_route": "text",
    }

    created = client.post("/api/v1/onward-referrals/", body, HTTP_IDEMPOTENCY_KEY="k1", content_type="application/json")
    replay = client.post("/api/v1/onward-referrals/", body, HTTP_IDEMPOTENCY_KEY="k1", content_type="application/json")

    assert created.status_code == 201, created.content
    assert replay.json() == created.json() and OnwardReferral.objects.count() == 1
    pk = created.json()["id"]
    read = client.get(f"/api/v1/onward-referrals/{pk}/")
    assert read["ETag"] == created["ETag"]
    stale = client.post(
        f"/api/v1/onward-referrals/{pk}/status/",
        {"status": "cancelled", "reason": "Moved away."},
        HTTP_IF_MATCH='"nope.v9"',
        content_type="application/json",
    )
    cancelled = client.post(
        f"/api/v1/onward-referrals/{pk}/status/",
        {"status": "cancelled", "reason": "Moved away."},
        HTTP_IF_MATCH=read["ETag"],
        content_type="application/json",
    )
    note = client.post(
        f"/api/v1/onward-referrals/{pk}/notes/", {"text": "Told the patient."}, content_type="application/json"
    )
    timeline = client.get(f"/api/v1/onward-referrals/{pk}/timeline/").json()
    deliveries = client.get(f"/api/v1/onward-referrals/{pk}/deliveries/").json()

    assert stale.status_code == 412
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert note.status_code == 201
    assert [e["kind"] for e in timeline] == ["created", "status", "note"]
    assert {d["status"] for d in deliveries} == {"cancelled"}


def test_staff_api_refuses_outsiders_and_bad_input(client_for, referral, keyworker, other_keyworker, nurse):
    assert client_for(other_keyworker).get(f"/api/v1/onward-referrals/{referral.pk}/").status_code == 404
    assert client_for(nurse).get("/api/v1/onward-referrals/").status_code == 403
    client = client_for(keyworker)
    past = client.post(
        f"/api/v1/onward-referrals/{referral.pk}/status/",
        {"status": "appointment_booked", "appointment_at": (timezone.now() - dt.timedelta(days=1)).isoformat()},
        content_type="application/json",
    )
    assert past.status_code == 400 and "appointment_at" in past.json()["errors"]
    assert client.get("/api/v1/onward-referrals/", {"updated_since": "soon"}).status_code == 400


def test_resend_through_the_staff_api(client_for, keyworker, referral):
    message = OutboxMessage.objects.get(cancel_key=referral.cancel_key, kind="referral.not_acknowledged")
    client = client_for(keyworker)
    url = f"/api/v1/onward-referrals/{referral.pk}/deliveries/{message.pk}/resend/"

    assert client.post(url).status_code == 400  # not failed
    with transaction.atomic():
        OutboxMessage.objects.filter(pk=message.pk).update(status=MessageStatus.FAILED, failed_at=NOW)
    resent = client.post(url)

    assert resent.status_code == 200 and resent.json()["status"] == "pending"
