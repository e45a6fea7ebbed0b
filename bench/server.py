"""gunicorn serving the project against the benchmark database, as in production: DEBUG off.

STAFF_2FA_REQUIRED=0: the benchmark signs in with a password only (a TOTP code per run would
measure nothing of interest). The API throttles are raised far above what one client sending
back-to-back can reach: they still run (and cost what they cost) on every request, but a 429
would stop the run. Everything else is the production configuration. No REDIS_URL
unless BENCH_REDIS_URL is given: sessions then live in the database (cached_db falls back to
it), which is the slower, conservative case.
"""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105 (benchmark only)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(database_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DEBUG")}
    env.update(
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY=SECRET_KEY,  # the benchmark writes sessions for this server (bench.client.Staff.session_of)
        ALLOWED_HOSTS="127.0.0.1,localhost",
        STAFF_2FA_REQUIRED="0",
        API_THROTTLE_USER="1000000/hour",
        API_THROTTLE_PARTNER="1000000/hour",
        STATIC_MANIFEST="0",
        HTTPS="0",
        CELERY_TASK_ALWAYS_EAGER="1",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DJANGO_SETTINGS_MODULE="hat_clinic.settings",
    )
    if os.environ.get("BENCH_REDIS_URL"):
        env["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    return env


@contextmanager
def gunicorn(database_url: str, *, workers: int = 2):
    """Start gunicorn on a free local port; yield its base URL; always stop it."""
    port = free_port()
    (ROOT / "bench-results").mkdir(exist_ok=True)
    log = open(ROOT / "bench-results" / "gunicorn.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(  # noqa: S603 (our own fixed command line)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "hat_clinic.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_environment(database_url),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}; see bench-results/gunicorn.log")
            try:
                if requests.get(f"{base}/accounts/login/", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within 60 s; see bench-results/gunicorn.log")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
