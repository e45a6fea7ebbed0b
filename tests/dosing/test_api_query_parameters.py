"""Query parameters of the dosing API: a malformed id is a 400 problem naming the parameter, never a 500."""

import pytest
import time_machine
from drf_spectacular.generators import SchemaGenerator

from .conftest import MORNING

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False):
        yield


def assert_names(response, parameter: str) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [parameter]


@pytest.mark.parametrize("value", ["false", "1x", "9.5"])
def test_the_board_refuses_a_clinic_that_is_not_an_id(client_for, nurse, value):
    assert_names(client_for(nurse).get("/api/v1/dosing/board/", {"clinic": value}), "clinic")


def test_the_board_of_a_named_clinic_and_of_another_clinic(client_for, nurse, clinic, other_clinic, slot):
    client = client_for(nurse)
    board = client.get("/api/v1/dosing/board/", {"clinic": clinic.pk})
    assert board.status_code == 200 and board.json()["clinic"] == clinic.pk
    assert client.get("/api/v1/dosing/board/", {"clinic": ""}).status_code == 200  # empty: the current clinic
    assert client.get("/api/v1/dosing/board/", {"clinic": other_clinic.pk}).status_code == 404
    assert client.get("/api/v1/dosing/board/", {"clinic": 10**30}).status_code == 404  # no such clinic


@pytest.mark.parametrize("query", [{"patient": "true"}, {"patient": ""}, {}])
def test_prescriptions_need_a_patient_id(client_for, nurse, query):
    assert_names(client_for(nurse).get("/api/v1/dosing/prescriptions/", query), "patient")


def test_prescriptions_of_another_clinics_patient_are_not_found(client_for, other_nurse, prescription, patient):
    assert client_for(other_nurse).get("/api/v1/dosing/prescriptions/", {"patient": patient.pk}).status_code == 404


def test_the_schema_declares_the_parameters_as_integers():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    (clinic,) = [p for p in paths["/api/v1/dosing/board/"]["get"]["parameters"] if p["in"] == "query"]
    (patient,) = paths["/api/v1/dosing/prescriptions/"]["get"]["parameters"]
    assert (clinic["name"], clinic["schema"]["type"], clinic.get("required", False)) == ("clinic", "integer", False)
    assert (patient["name"], patient["schema"]["type"], patient["required"]) == ("patient", "integer", True)
