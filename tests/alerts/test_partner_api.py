"""The partner API for drug alerts: the feed (alerts:read) and submissions (alerts:write), with real OAuth2 tokens."""

import base64
import datetime as dt

import pytest

from alerts import services
from alerts.models import AlertStatus, DrugAlert
from tests.alerts.conftest import NOW
from tests.factories import PartnerClientFactory, PartnerFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/partner/alerts/"
PROBLEM = "application/problem+json"


def token_for(client, api_client) -> str:
    basic = base64.b64encode(f"{api_client.client_id}:{api_client.secret}".encode()).decode()
    response = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@pytest.fixture
def as_partner(client):
    def make(partner, scopes, clinic=None):
        token = token_for(client, PartnerClientFactory(partner=partner, scopes=scopes, clinic=clinic))
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    return make


@pytest.fixture
def alerts(clinic, prescriber, alert_fields):
    live = services.publish_new_alert(clinic=clinic, by=prescriber, **alert_fields)
    expiring = services.publish_new_alert(
        clinic=clinic, by=prescriber, **{**alert_fields, "substance": "Xylazine", "valid_until": NOW.replace(minute=30)}
    )
    withdrawn = services.publish_new_alert(clinic=clinic, by=prescriber, **{**alert_fields, "substance": "Fentanyl"})
    services.withdraw_alert(alert=withdrawn, by=prescriber, reason="False alarm")
    draft = services.new_alert(clinic=clinic, by=prescriber, **{**alert_fields, "substance": "Draft only"})
    return {"live": live, "expiring": expiring, "withdrawn": withdrawn, "draft": draft}


def test_the_feed_lists_published_expired_and_withdrawn_alerts_marked(
    client, as_partner, housing, alerts, time_machine
):
    time_machine.move_to(NOW.replace(minute=45))
    headers = as_partner(housing, ["alerts:read"])

    response = client.get(URL, **headers)

    assert response.status_code == 200, response.content
    body = response.json()
    statuses = {row["substance"]: row["status"] for row in body["results"]}
    assert statuses == {"Heroin with nitazenes": "published", "Xylazine": "expired", "Fentanyl": "withdrawn"}
    assert body["next_cursor"] is None
    assert set(body["results"][0]) == {
        "id", "clinic", "substance", "what_seen", "area", "severity", "advice", "valid_until", "status",
        "withdrawn_reason", "version", "updated_at",
    }  # fmt: skip


def test_the_feed_filters_by_updated_since_and_pages(client, as_partner, housing, alerts, prescriber, time_machine):
    time_machine.move_to(NOW + dt.timedelta(minutes=20))
    services.correct_alert(alert=alerts["live"], by=prescriber, area="Stockton")
    headers = as_partner(housing, ["alerts:read"])

    since = client.get(URL, {"updated_since": "2026-12-06T12:10:00Z"}, **headers).json()
    assert [row["area"] for row in since["results"]] == ["Stockton"]

    first = client.get(URL, {"page_size": 2}, **headers).json()
    second = client.get(URL, {"page_size": 2, "cursor": first["next_cursor"]}, **headers).json()
    assert len(first["results"]) == 2
    assert [row["substance"] for row in second["results"]] == ["Heroin with nitazenes"]
    assert second["next_cursor"] is None


@pytest.mark.parametrize("params", [{"updated_since": "yesterday"}, {"cursor": "!!"}, {"page_size": 0}])
def test_a_malformed_filter_is_a_400_problem_naming_it(client, as_partner, housing, params):
    response = client.get(URL, params, **as_partner(housing, ["alerts:read"]))

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert set(response.json()["errors"]) == set(params)


def test_a_partner_without_the_scope_gets_403(client, as_partner, housing, alerts):
    response = client.get(URL, **as_partner(housing, ["referrals:read"]))

    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    assert "alerts:read" in response.json()["detail"]


def test_no_token_is_401(client):
    assert client.get(URL).status_code == 401


def test_a_client_of_another_clinic_sees_nothing(client, as_partner, clinic, other_clinic, alerts):
    both = PartnerFactory(name="Tees Housing", kind="housing", clinics=[clinic, other_clinic])

    response = client.get(URL, **as_partner(both, ["alerts:read"], clinic=other_clinic))

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_public_health_partner_submits_an_alert_for_review(client, as_partner, clinic, public_health):
    headers = as_partner(public_health, ["alerts:write"])

    response = client.post(
        URL,
        {"substance": "Heroin with nitazenes", "severity": "critical", "valid_until": "2026-12-10T18:00:00Z"},
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 201, response.content
    alert = DrugAlert.objects.get()
    assert response.json() == {"id": alert.pk, "clinic": clinic.name, "status": "submitted"}
    assert (alert.status, alert.submitted_by_partner, alert.clinic) == (AlertStatus.SUBMITTED, public_health, clinic)
    # Not published yet: not in anyone's feed, its own submitter's included.
    read = client.get(URL, **as_partner(public_health, ["alerts:read"]))
    assert read.json()["results"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"substance": "", "valid_until": "2026-12-10T18:00:00Z"}, "substance"),
        ({"valid_until": "2026-12-10T18:00:00Z"}, "substance"),
        ({"substance": "Heroin", "valid_until": "2026-12-01T18:00:00Z"}, "valid_until"),
        ({"substance": "Heroin", "valid_until": "soon"}, "valid_until"),
        ({"substance": "Heroin", "valid_until": "2026-12-10T18:00:00Z", "severity": "huge"}, "severity"),
    ],
)
def test_a_bad_submission_is_a_400_problem_naming_the_field(client, as_partner, public_health, body, field):
    response = client.post(URL, body, content_type="application/json", **as_partner(public_health, ["alerts:write"]))

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    assert field in response.json()["errors"]
    assert not DrugAlert.objects.exists()


def test_submitting_needs_the_write_scope(client, as_partner, public_health):
    response = client.post(
        URL,
        {"substance": "Heroin", "valid_until": "2026-12-10T18:00:00Z"},
        content_type="application/json",
        **as_partner(public_health, ["alerts:read"]),
    )

    assert response.status_code == 403
    assert not DrugAlert.objects.exists()


def test_a_housing_partner_cannot_be_given_the_write_scope(housing, clinic):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        PartnerClientFactory(partner=housing, scopes=["alerts:write"])

    assert "public-health and police" in str(refused.value)


def test_a_police_partner_may_submit(client, as_partner, clinic):
    police = PartnerFactory(name="Cleveland Police", kind="police", clinics=[clinic])

    response = client.post(
        URL,
        {"substance": "Heroin", "valid_until": "2026-12-10T18:00:00Z"},
        content_type="application/json",
        **as_partner(police, ["alerts:write"]),
    )

    assert response.status_code == 201


def test_the_alert_endpoints_are_documented_with_examples(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operations = schema["paths"]["/api/v1/partner/alerts/"]
    assert operations["get"]["operationId"] == "partner_alerts_list"
    assert operations["post"]["operationId"] == "partner_alerts_submit"
    assert {"200", "400", "401", "403", "429"} <= set(operations["get"]["responses"])
    assert {"201", "400", "401", "403"} <= set(operations["post"]["responses"])
    assert "examples" in operations["post"]["requestBody"]["content"]["application/json"]
    assert {p["name"] for p in operations["get"]["parameters"]} >= {"updated_since", "cursor", "page_size"}


def test_a_submission_repeated_with_the_same_idempotency_key_makes_one_alert(client, as_partner, public_health):
    headers = {**as_partner(public_health, ["alerts:write"]), "HTTP_IDEMPOTENCY_KEY": "7c1f0a9e-alert-1"}
    body = {"substance": "Heroin with nitazenes", "valid_until": "2026-12-10T18:00:00Z"}

    first = client.post(URL, body, content_type="application/json", **headers)
    again = client.post(URL, body, content_type="application/json", **headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert DrugAlert.objects.count() == 1
