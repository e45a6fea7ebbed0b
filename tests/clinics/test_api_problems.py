"""Issue 11, hole 16: every API error is problem+json with a readable message, and the schema says so.

From the outside: bodies over the size limit, unknown /api/v1/ paths, partner 404s, anonymous
staff calls (401, not 403), the HTML browsable API on partner endpoints, filters with values
outside their choices, and the schema's error answers and parameter bounds.
"""

import base64

import pytest
from django.urls import reverse

from clinics.api_errors import PROBLEM_CONTENT_TYPE
from tests.factories import PartnerClientFactory, PartnerFactory, PatientFactory, StaffFactory
from tests.factories.referrals import consent_to_share, make_onward_referral

pytestmark = pytest.mark.django_db

JSON = "application/json"
ALL_ROLES = ["nurse", "prescriber", "keyworker", "clinic_manager", "commissioner"]


def assert_problem(response, status: int, *, detail: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE, response["Content-Type"]
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if detail is not None:
        assert detail in body["detail"], body["detail"]
    return body


@pytest.fixture
def everyone(clinic):
    return StaffFactory(username="all.roles", roles=ALL_ROLES, clinics=[clinic])


@pytest.fixture
def partner_world(clinic, keyworker):
    partner = PartnerFactory(name="Thirteen Housing", kind="housing", clinics=[clinic])
    patient = PatientFactory(clinic=clinic, phone="07700 900123", contact_route="phone")
    consent_to_share(patient, partner, recorded_by=keyworker)
    referral = make_onward_referral(patient=patient, partner=partner, created_by=keyworker)
    return partner, referral


@pytest.fixture
def bearer(client, partner_world):
    api_client = PartnerClientFactory(partner=partner_world[0], scopes=["referrals:read", "referrals:write"])
    basic = base64.b64encode(f"{api_client.client_id}:{api_client.secret}".encode()).decode()
    token = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    return {"HTTP_AUTHORIZATION": f"Bearer {token.json()['access_token']}"}


# --- Error answers ----------------------------------------------------------------------------


def test_a_body_over_the_size_limit_is_a_413_problem(client_for, keyworker, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = '{"need": "' + "x" * 20_000 + '"}'

    response = client_for(keyworker).post("/api/v1/onward-referrals/", body, content_type=JSON)

    assert_problem(response, 413, detail="larger than the 10 kB")


def test_a_partner_body_over_the_size_limit_is_a_413_problem(client, bearer, partner_world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    reference = partner_world[1].reference
    body = '{"text": "' + "x" * 20_000 + '"}'

    response = client.post(f"/api/v1/partner/referrals/{reference}/notes/", body, content_type=JSON, **bearer)

    assert_problem(response, 413, detail="larger than the 10 kB")


@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-thing/", "/api/v1/patients/1/nope/", "/api/v1/partner/nope/", "/api/v2/"]
)
def test_an_unknown_api_path_is_a_404_problem(client_for, keyworker, path):
    assert_problem(client_for(keyworker).get(path), 404, detail="No API endpoint at this address")


def test_partner_404s_are_problems_with_their_message(client, bearer):
    assert_problem(
        client.get("/api/v1/partner/referrals/OR-NOSUCH/", **bearer),
        404,
        detail="No such referral for your organisation",
    )
    assert_problem(client.get("/api/v1/partner/referrals/OR-X/unknown/", **bearer), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/patients/"), ("get", "/api/v1/me/"), ("post", "/api/v1/onward-referrals/")],
)
def test_an_anonymous_staff_api_call_is_a_401_problem(client, method, path):
    response = getattr(client, method)(path)

    assert_problem(response, 401, detail="Authentication credentials were not provided")
    assert response["WWW-Authenticate"]


def test_the_partner_api_never_serves_the_browsable_html_api(client, bearer, partner_world):
    reference = partner_world[1].reference
    for path in ["/api/v1/partner/me/", "/api/v1/partner/referrals/", f"/api/v1/partner/referrals/{reference}/"]:
        response = client.get(path, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8", **bearer)
        assert response.status_code == 200
        assert response["Content-Type"] == JSON, path
        assert b"<html" not in response.content.lower()
    html_only = client.get("/api/v1/partner/referrals/", HTTP_ACCEPT="text/html", **bearer)
    assert_problem(html_only, 406)


def test_an_error_of_a_csv_endpoint_is_a_problem_too(client_for, manager):
    assert_problem(client_for(manager).get("/api/v1/cd-registers/999999/export/"), 404)


# --- Filters outside their choices ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/cd-discrepancies/", "status"),
        ("/api/v1/referrals/", "status"),
        ("/api/v1/onward-referrals/", "status"),
        ("/api/v1/patients/", "status"),
        ("/api/v1/stats/", "granularity"),
        ("/api/v1/onward-referrals/", "patient"),
        ("/api/v1/dosing/prescriptions/", "patient"),
    ],
)
def test_a_filter_outside_its_choices_is_a_400_naming_it(client_for, everyone, path, name):
    response = client_for(everyone).get(path, {name: "AAA"})

    body = assert_problem(response, 400)
    assert name in body["errors"]


def test_a_partner_filter_outside_its_choices_is_a_400_naming_it(client, bearer):
    body = assert_problem(client.get("/api/v1/partner/referrals/", {"status": "AAA"}, **bearer), 400)
    assert "status" in body["errors"]


# --- The schema ----------------------------------------------------------------------------------


@pytest.fixture
def schema(client_for, everyone):
    response = client_for(everyone).get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield f"{method.upper()} {path}", operation


def test_the_schema_documents_every_error_answer_as_problem_json(schema):
    missing, wrong_type = [], []
    for name, operation in operations(schema):
        for code in ("400", "401", "403", "404"):
            if code not in operation["responses"]:
                missing.append(f"{name} {code}")
        for code, response in operation["responses"].items():
            if code[0] in "45" and set(response.get("content", {})) != {PROBLEM_CONTENT_TYPE}:
                wrong_type.append(f"{name} {code}: {sorted(response.get('content', {}))}")
        if "requestBody" in operation:
            for code in ("413", "415"):
                if code not in operation["responses"]:
                    missing.append(f"{name} {code}")

    assert missing == []
    assert wrong_type == []


def test_the_schema_gives_the_real_bounds_of_parameters(schema):
    unbounded = []
    for name, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            kind = parameter.get("schema", {}).get("type")
            if kind == "integer" and "minimum" not in parameter["schema"]:
                unbounded.append(f"{name} {parameter['name']}")
    assert unbounded == []

    partner_list = dict(operations(schema))["GET /api/v1/partner/referrals/"]
    page_size = next(p for p in partner_list["parameters"] if p["name"] == "page_size")["schema"]
    assert (page_size["minimum"], page_size["maximum"]) == (1, 200)
