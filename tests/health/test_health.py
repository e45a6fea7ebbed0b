import pytest

from hat_clinic.celery import app as celery_app
from health.services import record_heartbeat

pytestmark = pytest.mark.django_db


def test_health_is_ok_when_database_and_redis_answer_in_eager_mode(client):
    response = client.get("/health/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True, "detail": "postgresql"}
    assert body["checks"]["redis"]["ok"] is True


def test_health_answers_503_naming_redis_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/health/")

    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]


def test_health_answers_503_naming_the_workers_when_none_answers(client, monkeypatch):
    # No worker listens on the test broker outside tests/health/test_celery_worker.py.
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)

    response = client.get("/health/")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["workers"]
    assert body["checks"]["workers"]["detail"] == "no worker answered"


def test_health_needs_no_sign_in_and_is_never_cached(client):
    response = client.get("/health/")

    assert "no-cache" in response["Cache-Control"]


def test_heartbeat_counts_every_run():
    record_heartbeat(name="beat")
    heartbeat = record_heartbeat(name="beat")

    assert heartbeat.runs == 2
