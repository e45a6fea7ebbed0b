"""A real Celery worker process on the real Redis broker, using the test database.

The worker is a separate `celery worker` process, so a test that uses it must commit its
data (`transactional_db`) and wait for the worker's effect to appear in PostgreSQL.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import dj_database_url
import pytest
from django.conf import settings

from hat_clinic.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def _test_database_url() -> str:
    db = settings.DATABASES["default"]  # pytest-django has already pointed NAME at the test database
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.1):
    """Poll until predicate() is truthy; return its value or fail with a clear message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout} s waiting for {getattr(predicate, '__name__', 'a condition')}")


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker):
    """Start `celery worker` against the test database and the Redis broker; stop it afterwards."""
    assert settings.REDIS_URL, "the real-worker tests need REDIS_URL"
    hostname = f"pytest-{os.getpid()}@%h"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "hat_clinic.settings",
        # The tests' webhook receiver listens on 127.0.0.1 and stands in for a partner's endpoint.
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
    }
    dj_database_url.parse(env["DATABASE_URL"])  # fail here, not in the worker, on a malformed URL
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()  # nothing left over from an earlier run
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "hat_clinic",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "-n",
            hostname,
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
    )
    try:

        def worker_answers():
            if process.poll() is not None:
                pytest.fail(f"the Celery worker exited with code {process.returncode}")
            return celery_app.control.ping(timeout=0.5)

        wait_for(worker_answers, timeout=30)
        yield process
    finally:
        celery_app.conf.task_always_eager = eager
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory):
    """The worker's email goes to files here (Django's file-based backend); set before the worker starts."""
    path = tmp_path_factory.mktemp("worker-mail")
    saved = {name: os.environ.get(name) for name in ("EMAIL_BACKEND", "EMAIL_FILE_PATH")}
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.filebased.EmailBackend"
    os.environ["EMAIL_FILE_PATH"] = str(path)
    yield path
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def worker(mail_dir, celery_worker):
    """The real worker, writing its email to `mail_dir`."""
    return celery_worker


def emails_with(mail_dir: Path, message) -> int:
    """How many emails of this outbox message the worker has written (each carries the message's Message-ID)."""
    marker = f"Message-ID: <{message.webhook_id}@"
    return sum(path.read_text().count(marker) for path in mail_dir.iterdir())
