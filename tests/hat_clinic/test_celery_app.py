"""Tasks queued after commit never turn a committed change into an error when the broker is down (issue 13.1).

A dose that raises an alert queues the alert's email after commit; with Redis down that publish used
to be retried and then raised inside Django's on-commit hook: a 500 for a dose already recorded.
"""

import logging

import pytest

from hat_clinic.celery import app as celery_app
from health.models import Heartbeat
from health.tasks import record_heartbeat

pytestmark = pytest.mark.django_db


def test_a_task_queued_on_commit_with_the_broker_down_is_logged_not_raised(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")  # nothing listens on port 1

    with (
        caplog.at_level(logging.WARNING, logger="hat_clinic.celery"),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        Heartbeat.objects.create(name="committed", seen_at="2026-11-18T12:00:00Z")
        record_heartbeat.delay_on_commit(name="queued")

    assert len(callbacks) == 1
    assert Heartbeat.objects.filter(name="committed").exists()
    assert [r.getMessage() for r in caplog.records if r.name == "hat_clinic.celery"] == [
        "could not queue health.tasks.record_heartbeat (OperationalError); the broker is unreachable"
    ]


def test_a_task_queued_on_commit_in_eager_mode_still_runs(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record_heartbeat.delay_on_commit(name="eager")

    assert Heartbeat.objects.get(name="eager").runs == 1
