"""The patients API answers in the shape its OpenAPI schema documents (what schemathesis checks, one case each).

Each test makes the answer that used to disagree with the schema (a paginated list documented as
one object, an empty email against `format: email`, an open episode's blank discharge reason) and
validates it against the schema drf-spectacular generates for that operation.
"""

import datetime

import jsonschema
import pytest
import time_machine
from drf_spectacular.generators import SchemaGenerator

from patients import services
from patients.models import OutcomeInterview

from .conftest import TOP_ANSWERS

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture(autouse=True)
def _on_2_march_2026():
    with time_machine.travel("2026-03-02 10:00:00+00:00"):
        yield


@pytest.fixture(scope="module")
def openapi():
    return SchemaGenerator().get_schema(request=None, public=True)


def _json_schema(node):
    """OpenAPI 3.0 -> JSON Schema: `nullable: true` becomes "or null" (the only difference these answers meet)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    return {"anyOf": [converted, {"type": "null"}]} if node.get("nullable") else converted


def assert_documented(openapi, method: str, path: str, status: int, body) -> None:
    operation = openapi["paths"][path][method]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft7Validator(
        {**_json_schema(schema), "components": _json_schema(openapi["components"])},
        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER,
    )
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(body)]
    assert not errors, errors


def test_record_parts_are_documented_as_the_paginated_lists_they_are(openapi, client_for, manager, keyworker, patient):
    services.patient_update(patient=patient, updated_by=keyworker, gp_practice="Marton")
    services.consent_record(patient=patient, kind="treatment", decision="given", recorded_by=keyworker)
    services.outcome_interview_record(
        patient=patient,
        recorded_by=keyworker,
        interviewed_on=datetime.date(2026, 3, 1),
        **{name: value for name, value in TOP_ANSWERS.items() if name != "interviewed_on"},
    )
    assert OutcomeInterview.objects.exists()
    client = client_for(manager)

    for part in ("episodes", "consents", "access-log", "history", "outcome-interviews"):
        response = client.get(f"/api/v1/patients/{patient.pk}/{part}/")
        body = response.json()
        assert response.status_code == 200 and body["results"], part
        assert_documented(openapi, "get", f"/api/v1/patients/{{patient_pk}}/{part}/", 200, body)


def test_history_documents_a_change_nobody_signed_in_made(openapi, client_for, nurse, patient):
    # A data migration or a scheduled job has no user: `who` is null.
    services.patient_update(patient=patient, updated_by=None, gp_practice="Marton")

    body = client_for(nurse).get(f"/api/v1/patients/{patient.pk}/history/").json()

    assert body["results"][0]["who"] is None
    assert_documented(openapi, "get", "/api/v1/patients/{patient_pk}/history/", 200, body)


def test_an_empty_email_is_a_documented_answer_and_input(openapi, client_for, keyworker, patient):
    client = client_for(keyworker)
    cleared = client.patch(f"/api/v1/patients/{patient.pk}/", {"email": ""}, content_type=JSON)
    assert cleared.status_code == 200 and cleared.json()["email"] == ""
    assert_documented(openapi, "patch", "/api/v1/patients/{id}/", 200, cleared.json())

    record = client.get(f"/api/v1/patients/{patient.pk}/").json()
    assert record["email"] == ""
    assert_documented(openapi, "get", "/api/v1/patients/{id}/", 200, record)

    bad = client.patch(f"/api/v1/patients/{patient.pk}/", {"email": "not an address"}, content_type=JSON)
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["email"]


def test_a_readmission_answers_an_open_episode_with_a_documented_blank_reason(openapi, client_for, keyworker, patient):
    client = client_for(keyworker)
    assert (
        client.post(f"/api/v1/patients/{patient.pk}/discharge/", {"reason": "custody"}, content_type=JSON).status_code
        == 200
    )

    response = client.post(f"/api/v1/patients/{patient.pk}/readmit/", {}, content_type=JSON)

    assert response.status_code == 201 and response.json()["discharge_reason"] == ""
    assert_documented(openapi, "post", "/api/v1/patients/{id}/readmit/", 201, response.json())
