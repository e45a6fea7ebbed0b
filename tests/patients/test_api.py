"""The staff API for patients: same rules, same scoping, 400 with field errors, one access-log entry per read."""

import datetime

import pytest
import time_machine

from patients import services
from patients.models import AccessLogEntry, ConsentEntry, OutcomeInterview, Patient

from .conftest import INVALID_NHS, TOP_ANSWERS, VALID_NHS

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture(autouse=True)
def _on_2_march_2026():
    with time_machine.travel("2026-03-02 10:00:00+00:00"):
        yield


def api(path=""):
    return f"/api/v1/patients/{path}"


def test_list_and_search_within_the_users_clinics(client_for, nurse, patient, other_patient):
    client = client_for(nurse)
    assert [p["id"] for p in client.get(api()).json()["results"]] == [patient.pk]
    assert [p["id"] for p in client.get(api(), {"q": "9434"}).json()["results"]] == [patient.pk]
    assert client.get(api(), {"q": "Other"}).json()["results"] == []
    assert not AccessLogEntry.objects.exists()  # a list is not a record view


def test_reading_a_record_writes_one_access_log_entry(client_for, nurse, patient):
    response = client_for(nurse).get(api(f"{patient.pk}/"))

    assert response.status_code == 200
    assert response.json()["nhs_number"] == VALID_NHS
    assert response.json()["current_consents"][0] == {
        "label": "Treatment",
        "partner": None,
        "decision": None,
        "effective_at": None,
    }
    entry = AccessLogEntry.objects.get()
    assert (entry.user, entry.what, entry.channel) == (nurse, "record", "api")


@pytest.mark.parametrize(
    "path",
    ["{pk}/", "{pk}/episodes/", "{pk}/consents/", "{pk}/outcome-interviews/", "{pk}/history/", "{pk}/access-log/"],
)
def test_another_clinics_staff_get_404(client_for, other_nurse, other_manager, patient, path):
    for outsider in (other_nurse, other_manager):
        assert client_for(outsider).get(api(path.format(pk=patient.pk))).status_code == 404
    assert not AccessLogEntry.objects.exists()


def test_commissioners_get_403(client_for, commissioner, patient):
    client = client_for(commissioner)
    assert client.get(api()).status_code == 403
    assert client.get(api(f"{patient.pk}/")).status_code == 403


def test_each_part_read_is_logged_once(client_for, manager, patient):
    client = client_for(manager)
    for path in ("episodes", "consents", "outcome-interviews", "history", "access-log"):
        assert client.get(api(f"{patient.pk}/{path}/")).status_code == 200
    assert list(AccessLogEntry.objects.order_by("pk").values_list("what", flat=True)) == [
        "episodes",
        "consents",
        "outcomes",
        "history",
        "access_log",
    ]


def test_only_managers_read_the_access_log(client_for, nurse, keyworker, patient):
    for wrong_role in (nurse, keyworker):
        assert client_for(wrong_role).get(api(f"{patient.pk}/access-log/")).status_code == 403


def new_patient(**overrides):
    return {
        "given_name": "Jo",
        "family_name": "Bloggs",
        "date_of_birth": "1985-04-01",
        "started_on": "2026-03-02",
        **overrides,
    }


def test_a_keyworker_registers_a_patient(client_for, keyworker, clinic):
    response = client_for(keyworker).post(api(), new_patient(nhs_number="943 476 5919"), content_type=JSON)

    assert response.status_code == 201, response.json()
    patient = Patient.objects.get()
    assert (patient.clinic, patient.nhs_number) == (clinic, VALID_NHS)


def test_bad_input_is_400_with_field_errors(client_for, keyworker):
    response = client_for(keyworker).post(
        api(), new_patient(nhs_number=INVALID_NHS, date_of_birth="2030-01-01"), content_type=JSON
    )

    assert response.status_code == 400
    body = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert set(body["errors"]) == {"nhs_number", "date_of_birth"}
    assert body["errors"]["date_of_birth"] == ["Date of birth cannot be in the future; please check it."]
    assert not Patient.objects.exists()


def test_a_possible_duplicate_needs_confirm_duplicates(client_for, keyworker, patient):
    client = client_for(keyworker)
    same = new_patient(given_name="Alex", family_name="Morgan", date_of_birth="1980-05-17")

    response = client.post(api(), same, content_type=JSON)
    assert response.status_code == 400
    assert f"patient {patient.pk}" in response.json()["errors"]["confirm_duplicates"][0]

    assert client.post(api(), {**same, "confirm_duplicates": True}, content_type=JSON).status_code == 201


def test_registering_in_a_clinic_the_user_does_not_work_at_is_refused(client_for, keyworker, other_clinic):
    response = client_for(keyworker).post(api(), new_patient(clinic=other_clinic.pk), content_type=JSON)
    assert response.status_code == 400 and "clinic" in response.json()["errors"]


def test_nurses_cannot_create_or_change(client_for, nurse, patient):
    client = client_for(nurse)
    assert client.post(api(), new_patient(), content_type=JSON).status_code == 403
    assert client.patch(api(f"{patient.pk}/"), {"phone": "1"}, content_type=JSON).status_code == 403
    assert client.post(api(f"{patient.pk}/discharge/"), {"reason": "died"}, content_type=JSON).status_code == 403


def test_update_details(client_for, keyworker, patient):
    response = client_for(keyworker).patch(api(f"{patient.pk}/"), {"preferred_name": "Lex"}, content_type=JSON)
    assert response.status_code == 200 and response.json()["preferred_name"] == "Lex"
    bad = client_for(keyworker).patch(api(f"{patient.pk}/"), {"nhs_number": INVALID_NHS}, content_type=JSON)
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["nhs_number"]


def test_discharge_and_readmit(client_for, keyworker, patient):
    client = client_for(keyworker)
    response = client.post(api(f"{patient.pk}/discharge/"), {"reason": "to_oral"}, content_type=JSON)
    assert response.status_code == 200 and response.json()["ended_on"] == "2026-03-02"

    again = client.post(api(f"{patient.pk}/discharge/"), {"reason": "to_oral"}, content_type=JSON)
    assert again.status_code == 400
    assert again.json()["detail"] == "This patient was already discharged on 2 March 2026; nothing was changed."

    response = client.post(api(f"{patient.pk}/readmit/"), {}, content_type=JSON)
    assert response.status_code == 201 and response.json()["ended_on"] is None
    assert len(client.get(api(f"{patient.pk}/episodes/")).json()["results"]) == 2


def test_consents_create_and_list(client_for, keyworker, patient, partner, other_partner):
    client = client_for(keyworker)
    path = api(f"{patient.pk}/consents/")
    assert (
        client.post(
            path, {"kind": "data_sharing", "partner": partner.pk, "decision": "given"}, content_type=JSON
        ).status_code
        == 201
    )
    with time_machine.travel("2026-03-02 10:01:00+00:00"):
        response = client.post(
            path, {"kind": "data_sharing", "partner": partner.pk, "decision": "withdrawn"}, content_type=JSON
        )
    assert response.status_code == 201

    refused = client.post(
        path, {"kind": "data_sharing", "partner": other_partner.pk, "decision": "given"}, content_type=JSON
    )
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["partner"]

    assert [e["decision"] for e in client.get(path).json()["results"]] == ["withdrawn", "given"]
    assert ConsentEntry.objects.count() == 2


def test_outcome_interviews_bounds_and_create(client_for, keyworker, patient):
    client = client_for(keyworker)
    path = api(f"{patient.pk}/outcome-interviews/")

    response = client.post(path, {**TOP_ANSWERS, "heroin_days": 29, "physical_health": 21}, content_type=JSON)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "heroin_days": ["Days used street heroin is a number of days in the last 28 days: from 0 to 28."],
        "physical_health": ["Physical health is a rating from 0 to 20."],
    }
    assert not OutcomeInterview.objects.exists()

    response = client.post(path, TOP_ANSWERS, content_type=JSON)
    assert response.status_code == 201 and response.json()["interviewed_on"] == "2026-03-02"
    assert len(client.get(path).json()["results"]) == 1


def test_history_lists_changes_with_old_and_new_values(client_for, nurse, keyworker, patient):
    with time_machine.travel("2026-03-02 11:00:00+00:00"):
        services.patient_update(patient=patient, updated_by=keyworker, gp_practice="Marton")

    change = client_for(nurse).get(api(f"{patient.pk}/history/")).json()["results"][0]
    assert change["who"] == keyworker.pk
    assert change["changes"] == [{"field": "GP practice", "old": "", "new": "Marton"}]


def test_episode_dates_stay_valid(client_for, keyworker, patient):
    response = client_for(keyworker).post(
        api(f"{patient.pk}/discharge/"), {"reason": "custody", "ended_on": "2025-12-01"}, content_type=JSON
    )
    assert response.status_code == 400
    assert response.json()["errors"]["ended_on"] == [
        "Discharge date cannot be before the episode started (5 January 2026)."
    ]
    assert patient.episodes.get().ended_on is None
    assert datetime.date(2026, 1, 5) == patient.episodes.get().started_on


def test_a_clinical_alert_is_set_and_cleared_through_the_api_and_a_too_long_one_is_refused(
    client_for, keyworker, patient
):
    client = client_for(keyworker)
    response = client.patch(api(f"{patient.pk}/"), {"clinical_alert": "Allergic to latex"}, content_type=JSON)
    assert response.status_code == 200 and response.json()["clinical_alert"] == "Allergic to latex"

    bad = client.patch(api(f"{patient.pk}/"), {"clinical_alert": "x" * 201}, content_type=JSON)
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["clinical_alert"]
    patient.refresh_from_db()
    assert patient.clinical_alert == "Allergic to latex"  # nothing half-saved

    assert client.patch(api(f"{patient.pk}/"), {"clinical_alert": ""}, content_type=JSON).json()["clinical_alert"] == ""
