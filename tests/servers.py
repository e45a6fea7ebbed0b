"""The production processes, started by a test against the test database: gunicorn (as the Dockerfile
runs it), and a Celery worker and beat (as docker-compose runs them), with DEBUG off.

Each runs in its own process group and is stopped by its own pid when the test ends.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml
from django.conf import settings

from tests.celery_worker import _test_database_url

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dockerfile_command() -> list[str]:
    """The Dockerfile's CMD (the web service's command), as a list."""
    match = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert match, "the Dockerfile has no CMD [...] line"
    return json.loads(match.group(1))


def compose_command(service: str) -> list[str]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][service]["command"]


def production_environment(*, database_url: str | None = None, **overrides: str) -> dict[str, str]:
    """The production settings (DEBUG off) on the test database; overrides win."""
    env = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "CELERY_TASK_ALWAYS_EAGER")}
    env.update(
        DJANGO_SETTINGS_MODULE="hat_clinic.settings",
        DATABASE_URL=database_url or _test_database_url(),
        DEBUG="0",
        SECRET_KEY="test-only-production-like-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        # The witness PINs the test sets are keyed in this process: the server must check them with the same key.
        WITNESS_PIN_KEY=settings.WITNESS_PIN_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        HTTPS="0",
        STATIC_MANIFEST="0",  # the test has not run collectstatic
        STAFF_2FA_REQUIRED="0",  # two-factor sign-in is tested in tests/clinics
        PYTHONUNBUFFERED="1",
        # `gunicorn`, `celery` and `python` of the compose commands are this virtualenv's.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update(overrides)
    return env


@contextmanager
def process(argv: list[str], *, env: dict[str, str], log: Path):
    """Start argv in its own session; always stop it (and its children) afterwards."""
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def wait_until_answers(url: str, proc: subprocess.Popen, log: Path, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args[0]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            requests.get(url, timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    pytest.fail(f"nothing answered at {url} within {timeout} s:\n{log.read_text()[-3000:]}")


@contextmanager
def gunicorn(env: dict[str, str], log: Path, *, workers: int | None = None):
    """The Dockerfile's gunicorn command on a free local port (and, if given, another number of workers)."""
    argv = dockerfile_command()
    port = free_port()
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    if workers is not None:
        argv[argv.index("--workers") + 1] = str(workers)
    base = f"http://127.0.0.1:{port}"
    with process(argv, env=env, log=log) as proc:
        wait_until_answers(f"{base}/accounts/login/", proc, log)
        yield base
