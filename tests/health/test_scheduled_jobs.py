"""The worker or beat down (issue 13.2): /health/ and the clinic manager's home page say when the
scheduled jobs last ran, and warn when that is more than 10 minutes ago."""

import datetime as dt

import pytest
from django.core.management import call_command

from health.models import Heartbeat
from health.services import record_heartbeat

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)


def test_health_says_when_the_scheduled_jobs_last_ran(client, time_machine):
    time_machine.move_to(NOON - dt.timedelta(minutes=3), tick=False)
    record_heartbeat(name="beat")
    time_machine.move_to(NOON, tick=False)

    body = client.get("/health/").json()

    assert body["scheduled_jobs"]["last_run"] == "2026-11-18T11:57:00+00:00"
    assert body["scheduled_jobs"]["stale"] is False
    assert body["warnings"] == []


def test_health_warns_when_the_scheduled_jobs_are_more_than_ten_minutes_late(client, time_machine):
    time_machine.move_to(NOON - dt.timedelta(minutes=11), tick=False)
    record_heartbeat(name="beat")
    time_machine.move_to(NOON, tick=False)

    response = client.get("/health/")

    # A warning, not a failure: dosing does not wait for the scheduler.
    assert response.status_code == 200
    body = response.json()
    assert body["scheduled_jobs"]["stale"] is True
    assert body["warnings"] == [
        "The scheduled jobs last ran 11 minutes ago: check that the Celery beat service and a worker are "
        "running. Dosing is not affected; reminders, missed-slot closing and statistics wait."
    ]


def test_health_warns_when_the_scheduled_jobs_never_ran(client):
    body = client.get("/health/").json()

    assert body["scheduled_jobs"]["last_run"] is None
    assert "never run" in body["warnings"][0]


def test_each_scheduled_job_records_its_own_last_run(client, time_machine):
    time_machine.move_to(NOON, tick=False)

    call_command("run_scheduled_jobs")  # every beat job once, as beat and a worker would

    jobs = client.get("/health/").json()["scheduled_jobs"]["jobs"]
    assert jobs["dosing-close-missed-slots"] == {
        "task": "dosing.tasks.close_missed_slots_job",
        "last_run": "2026-11-18T12:00:00+00:00",
        "stale": False,
    }
    assert all(job["last_run"] == "2026-11-18T12:00:00+00:00" for job in jobs.values())
    assert Heartbeat.objects.get(name="beat").seen_at == NOON


def test_the_clinic_manager_home_page_shows_the_last_run(client_for, manager, time_machine):
    time_machine.move_to(NOON - dt.timedelta(minutes=2), tick=False)
    record_heartbeat(name="beat")
    time_machine.move_to(NOON, tick=False)

    page = client_for(manager).get("/").content.decode()

    assert "Scheduled jobs last ran at 11:58 (2\xa0minutes ago)." in page


def test_the_clinic_manager_home_page_warns_when_the_jobs_are_late(client_for, manager, time_machine):
    time_machine.move_to(NOON - dt.timedelta(minutes=25), tick=False)
    record_heartbeat(name="beat")
    time_machine.move_to(NOON, tick=False)

    page = client_for(manager).get("/").content.decode()

    assert "The scheduled jobs last ran 25 minutes ago" in page


def test_a_nurse_home_page_does_not_carry_the_scheduler_notice(client_for, nurse):
    page = client_for(nurse).get("/").content.decode()

    assert 'id="scheduled-jobs"' not in page
