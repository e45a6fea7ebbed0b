"""The patient list's query parameters: bad input is a 400 problem naming the parameter, never a 500."""

import pytest

pytestmark = pytest.mark.django_db


def assert_names(response, parameter: str) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [parameter]


def test_a_search_with_a_nul_byte_is_refused_naming_q(client_for, nurse, patient):
    # PostgreSQL cannot hold a NUL character in a string literal: it used to be a 500.
    assert_names(client_for(nurse).get("/api/v1/patients/", {"q": "Mor\x00gan"}), "q")


def test_an_overlong_search_is_refused_naming_q(client_for, nurse, patient):
    assert_names(client_for(nurse).get("/api/v1/patients/", {"q": "a" * 101}), "q")


def test_an_unknown_status_is_refused_naming_status(client_for, nurse, patient):
    assert_names(client_for(nurse).get("/api/v1/patients/", {"status": "asleep"}), "status")


def test_empty_parameters_mean_no_filter(client_for, nurse, patient, other_patient):
    body = client_for(nurse).get("/api/v1/patients/", {"q": "", "status": ""}).json()
    assert [row["id"] for row in body["results"]] == [patient.pk]
    assert client_for(nurse).get("/api/v1/patients/", {"status": patient.status}).json()["count"] == 1
