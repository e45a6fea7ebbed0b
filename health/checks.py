"""The state of each part the service needs, for /health/."""

import redis
from django.conf import settings
from django.db import connection

from hat_clinic.celery import app as celery_app

TIMEOUT_SECONDS = 1.0


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not healthy"; the message says which
        return False, f"unreachable: {exc.__class__.__name__}"
    return True, connection.vendor


def check_redis() -> tuple[bool, str]:
    if not settings.REDIS_URL:
        return True, "not configured (embedded mode)"
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        client.ping()
    except redis.RedisError as exc:
        return False, f"unreachable: {exc.__class__.__name__}"
    return True, "ok"


def check_workers() -> tuple[bool, str]:
    if celery_app.conf.task_always_eager:
        return True, "tasks run in-process (embedded mode)"
    try:
        # One connection attempt, no reconnect loop: with Redis down /health/ answers at once.
        with celery_app.connection_for_write(transport_options={"max_retries": 0}) as connection:
            replies = celery_app.control.ping(timeout=TIMEOUT_SECONDS, connection=connection)
    except Exception as exc:  # broker down: report it, never raise from a health check
        return False, f"broker unreachable: {exc.__class__.__name__}"
    if not replies:
        return False, "no worker answered"
    return True, f"{len(replies)} worker(s) answered"


CHECKS = {"database": check_database, "redis": check_redis, "workers": check_workers}
