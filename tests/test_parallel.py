"""xdist workers never share Redis or the private redis-server ports (tests/parallel.py, tests/redis_server.py)."""

import pytest

from tests.parallel import redis_url_for_worker
from tests.redis_server import PORTS, ports_for_this_worker


def test_each_worker_uses_the_next_redis_database_of_the_same_server():
    assert redis_url_for_worker("redis://127.0.0.1:6379/14", 0) == "redis://127.0.0.1:6379/14"
    assert redis_url_for_worker("redis://127.0.0.1:6379/14", 1) == "redis://127.0.0.1:6379/15"
    assert redis_url_for_worker("redis://:secret@redis.internal:6380", 2) == "redis://:secret@redis.internal:6380/2"


def test_a_worker_past_the_last_redis_database_stops_the_run_naming_redis_url():
    with pytest.raises(pytest.UsageError, match=r"REDIS_URL='redis://127.0.0.1:6379/14'.*gw2.*database 16"):
        redis_url_for_worker("redis://127.0.0.1:6379/14", 2)


def test_two_workers_look_for_a_private_redis_port_from_opposite_ends_of_the_range(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    first = ports_for_this_worker()
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    second = ports_for_this_worker()

    assert sorted(first) == sorted(second) == list(PORTS)
    assert (first[0], second[0]) == (6390, 6395)


def test_without_xdist_the_search_starts_at_the_first_port(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)

    assert ports_for_this_worker() == list(PORTS)
