"""Per-clinic dosing settings: the clinic manager edits them (page and API) within the SPEC's bounds, with
history (who, when, old and new); a change takes effect from the next session that has not started, so a
session in progress keeps the numbers it started with.
"""

import datetime

import pytest
import time_machine

from dosing.models import DosingSettings

from .conftest import MORNING, TODAY, at, check_and_dose
from .test_api import refusal
from .test_pages import refused

pytestmark = pytest.mark.django_db

NOON = at(TODAY, 12, 0)


def values(**changes) -> dict:
    base = {
        "morning_start": "08:00", "morning_end": "10:30", "afternoon_start": "15:30", "afternoon_end": "18:00",
        "evening_start": "19:00", "evening_end": "21:00", "sessions_per_day": 2, "observation_minutes": 15,
        "minimum_interval_minutes": 180, "missed_days_threshold": 3, "missed_days_threshold_titration": 1,
        "max_daily_diamorphine_mg": "1000", "max_daily_hydromorphone_mg": "500", "breath_alcohol_limit_ug": "35",
        "max_daily_methadone_mg": "150", "max_daily_morphine_sr_mg": "1200",
    }  # fmt: skip
    return {**base, **changes}


def put(client, clinic, data):
    return client.put(f"/api/v1/dosing/clinics/{clinic.pk}/settings/", data, content_type="application/json")


@pytest.mark.parametrize(
    ("change", "rule", "field"),
    [
        ({"observation_minutes": 40}, "S6", "observation_minutes"),
        ({"observation_minutes": 5}, "S6", "observation_minutes"),
        ({"sessions_per_day": 4}, "S2", "sessions_per_day"),
        ({"max_daily_diamorphine_mg": "1500"}, "S4", "max_daily_diamorphine_mg"),
        ({"minimum_interval_minutes": 30}, "S3", "minimum_interval_minutes"),
        ({"missed_days_threshold": 0}, "S7", "missed_days_threshold"),
        ({"morning_end": "16:00"}, "S2", "morning_end"),
    ],
)
def test_api_settings_outside_the_spec_are_refused_naming_the_rule(client_for, manager, clinic, change, rule, field):
    with time_machine.travel(NOON, tick=False):
        response = put(client_for(manager), clinic, values(**change))
    refusal(response, rule, field)
    assert DosingSettings.for_clinic(clinic).observation_minutes == 15


def test_api_only_the_clinic_manager_of_the_clinic_changes_settings(client_for, nurse, manager, other_clinic, clinic):
    with time_machine.travel(NOON, tick=False):
        assert put(client_for(nurse), clinic, values(observation_minutes=20)).status_code == 403
        assert put(client_for(manager), other_clinic, values(observation_minutes=20)).status_code == 404
        assert client_for(manager).get(f"/api/v1/dosing/clinics/{clinic.pk}/settings/").status_code == 200


def test_api_a_change_during_a_session_waits_for_the_next_session(
    client_for, manager, clinic, slot, afternoon_slot, nurse, second_nurse
):
    with time_machine.travel(MORNING, tick=False):
        response = put(client_for(manager), clinic, values(observation_minutes=20, afternoon_start="15:00"))
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["pending_from"].startswith("2026-11-18T10:30")
        assert body["observation_minutes"] == 15 and body["pending"]["observation_minutes"] == 20
        # The morning session in progress keeps its numbers ...
        given = check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 9, 10))
    assert given.observation_ends_at == at(TODAY, 9, 12) + datetime.timedelta(minutes=15)
    slot.refresh_from_db()
    assert slot.window_start == at(TODAY, 8, 0)
    # ... the afternoon, not started, gets the new ones.
    afternoon_slot.refresh_from_db()
    assert afternoon_slot.window_start == at(TODAY, 15, 0)
    with time_machine.travel(at(TODAY, 15, 5), tick=False):
        afternoon = client_for(manager).get(f"/api/v1/dosing/clinics/{clinic.pk}/settings/").json()
    assert afternoon["observation_minutes"] == 20 and afternoon["pending"] is None
    assert len(afternoon["history"]) == 1, afternoon["history"]
    (change,) = afternoon["history"]
    assert change["by"] == manager.pk
    assert {"field": "observation_minutes", "old": "15", "new": "20"} in change["changes"]


def test_page_the_manager_changes_settings_and_sees_the_history(client_for, manager, nurse, clinic):
    with time_machine.travel(NOON, tick=False):
        assert client_for(nurse).get("/dosing/settings/").status_code == 403
        client = client_for(manager)
        assert client.get("/dosing/settings/").status_code == 200
        bad = client.post("/dosing/settings/", values(observation_minutes=45))
        refused(bad, "S6", "observation_minutes")
        good = client.post("/dosing/settings/", values(observation_minutes=20))
        assert good.status_code == 302
        page = client.get("/dosing/settings/").text
    assert DosingSettings.objects.get(clinic=clinic).observation_minutes == 20
    assert "Maggie" in page and "from 15 to 20 on 18/11/2026 at 12:00." in page  # a sentence (issue 14.8)
