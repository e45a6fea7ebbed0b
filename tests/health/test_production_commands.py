"""The production commands themselves (issue 13.5): gunicorn as the Dockerfile runs it, and the Celery
worker and beat as docker-compose runs them, with DEBUG off and the production settings, on the test
database and a private Redis. /health/ answers 200 and has seen the worker and beat."""

import time

import pytest
import requests

from tests.servers import compose_command, gunicorn, process, production_environment

pytestmark = pytest.mark.django_db(transaction=True)


def test_web_worker_and_beat_run_as_deployed_and_health_sees_them(private_redis, tmp_path):
    env = production_environment(REDIS_URL=private_redis.url)
    env.pop("CELERY_QUEUE", None)  # the default queue, hat_clinic, which the compose worker consumes
    beat = compose_command("beat")
    beat[beat.index("--schedule") + 1] = str(tmp_path / "celerybeat-schedule")

    with (
        process(compose_command("worker"), env=env, log=tmp_path / "worker.log"),
        process(beat, env=env, log=tmp_path / "beat.log"),
        gunicorn(env, tmp_path / "gunicorn.log") as base,
    ):
        deadline = time.monotonic() + 45
        while True:
            response = requests.get(f"{base}/health/", timeout=10)
            body = response.json()
            if response.status_code == 200 and body["scheduled_jobs"]["last_run"]:
                break
            if time.monotonic() > deadline:
                logs = "\n".join((tmp_path / name).read_text()[-1500:] for name in ("worker.log", "beat.log"))
                pytest.fail(f"/health/ answered {response.status_code} {body}\n{logs}")
            time.sleep(0.5)

    assert body["checks"]["database"] == {"ok": True, "detail": "postgresql"}
    assert body["checks"]["redis"] == {"ok": True, "detail": "ok"}
    assert body["checks"]["workers"]["ok"] is True
    assert body["scheduled_jobs"]["stale"] is False  # beat's heartbeat, run by the worker
    assert response.headers["Server-Timing"].startswith("app;dur=")
