"""Redis stopped under a running app (issue 13.1), in-process: the cache, sessions, throttles, /health/.

The full journey (sign-in, board, dose, referral, partner read, then the reminder delivered once
after Redis returns) runs against gunicorn and a real worker in test_redis_outage.py.
"""

import itertools
import logging

import pytest
from django.core.cache import cache

from tests.factories.clinics import PASSWORD

pytestmark = pytest.mark.django_db


_database_numbers = itertools.cycle(range(16))


@pytest.fixture
def redis_cache(settings, private_redis):
    """The app's cache and /health/ pointed at a private redis-server the test can stop.

    Each test uses its own Redis database number: the fallback's once-a-minute warning is
    per process and per Redis location, so a test never inherits an earlier test's outage.
    """
    location = private_redis.url.rsplit("/", 1)[0] + f"/{next(_database_numbers)}"
    settings.REDIS_URL = location
    settings.CACHES = {
        "default": {
            "BACKEND": settings.CACHES["default"]["BACKEND"],
            "LOCATION": location,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    return private_redis


def test_staff_sign_in_while_redis_is_down(redis_cache, client, nurse):
    redis_cache.stop()

    response = client.post("/accounts/login/", {"username": nurse.username, "password": PASSWORD})

    assert response.status_code == 302
    assert client.get("/api/v1/me/").status_code == 200


def test_a_signed_in_session_keeps_working_when_redis_stops(redis_cache, client, nurse):
    client.post("/accounts/login/", {"username": nurse.username, "password": PASSWORD})
    redis_cache.stop()

    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200


def test_api_throttles_fall_back_to_a_per_process_limit_not_a_500(redis_cache, client_for, nurse, monkeypatch):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute"})  # DRF reads rates at import
    client = client_for(nurse)
    redis_cache.stop()

    answers = [client.get("/api/v1/me/").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]


def test_the_cache_logs_one_warning_for_many_calls_while_redis_is_down(redis_cache, caplog):
    redis_cache.stop()

    with caplog.at_level(logging.WARNING, logger="health.cache"):
        for number in range(50):
            cache.set(f"k{number}", number)
            assert cache.get(f"k{number}") == number  # answered from this process's memory

    assert len([r for r in caplog.records if r.name == "health.cache"]) == 1


def test_the_cache_uses_redis_again_once_it_is_back(redis_cache, settings):
    import redis

    from tests.celery_worker import wait_for

    redis_cache.stop()
    cache.set("while-down", 1)
    redis_cache.start()

    def written_to_redis():
        cache.set("after-restart", 2)
        return redis.Redis.from_url(settings.REDIS_URL).exists(cache.make_and_validate_key("after-restart"))

    wait_for(written_to_redis, timeout=15)


def test_health_with_a_session_cookie_answers_503_naming_redis(redis_cache, client, nurse):
    client.post("/accounts/login/", {"username": nurse.username, "password": PASSWORD})
    redis_cache.stop()

    response = client.get("/health/")

    assert response.status_code == 503
    assert "redis" in response.json()["failing"]
