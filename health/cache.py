"""A Redis cache that keeps working, per process, while Redis is down (issue 13: Redis is optional).

Nothing clinical lives in the cache: sessions are in the database (settings.SESSION_ENGINE) and
dosing reads only PostgreSQL. What does use the cache (DRF's API throttles, the witness-PIN failure
counter, the statistics cache) must not turn a Redis outage into a 500. So every cache call that
cannot reach Redis is answered by this process's own memory instead:

- throttles then count per process (each gunicorn worker allows the configured rate): they fail
  open to a per-process limit, never to "no limit" and never to an error;
- the statistics cache misses and recomputes;
- after a failure Redis is left alone for RETRY_SECONDS, so a request never waits on the connect
  timeout more than once per interval per process;
- one warning a minute per process, not one per request.

Only connection failures (refused, timed out, Redis loading or read-only) fall back; a real error
such as a wrong type still raises.
"""

import logging
import threading
import time

import redis
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger("health.cache")

RETRY_SECONDS = 5.0
WARN_EVERY_SECONDS = 60.0
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, redis.ReadOnlyError)


class _Outage:
    """Per-process state shared by every thread's cache object for one Redis location."""

    def __init__(self):
        self.lock = threading.Lock()
        self.skip_until = 0.0  # time.monotonic() before which Redis is not tried
        self.last_warning = -WARN_EVERY_SECONDS
        self.failures = 0  # calls answered from memory since the last warning

    def is_skipping(self) -> bool:
        return time.monotonic() < self.skip_until

    def failed(self, location: str, exc: Exception) -> None:
        now = time.monotonic()
        with self.lock:
            self.skip_until = now + RETRY_SECONDS
            self.failures += 1
            if now - self.last_warning < WARN_EVERY_SECONDS:
                return
            self.last_warning, failures, self.failures = now, self.failures, 0
        logger.warning(
            "Redis cache unreachable (%s); %d cache call(s) answered from this process's memory; "
            "retrying every %d s, next warning in a minute at the earliest",
            exc.__class__.__name__,
            failures,
            RETRY_SECONDS,
        )

    def recovered(self) -> None:
        if self.skip_until:
            with self.lock:
                self.skip_until = 0.0
            logger.warning("Redis cache reachable again")


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(location: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(location, _Outage())


def _resilient(name: str):
    def method(self, *args, **kwargs):
        if self._outage.is_skipping():
            return getattr(self._memory, name)(*args, **kwargs)
        try:
            result = getattr(super(ResilientRedisCache, self), name)(*args, **kwargs)
        except UNAVAILABLE as exc:
            self._outage.failed(self._location, exc)
            return getattr(self._memory, name)(*args, **kwargs)
        self._outage.recovered()
        return result

    method.__name__ = name
    return method


class ResilientRedisCache(RedisCache):
    """Django's RedisCache, answered from this process's memory while Redis cannot be reached."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)
        self._outage = _outage_for(self._location)
        # LocMemCache objects with the same name share one store: one per process and location.
        self._memory = LocMemCache(f"redis-fallback:{self._location}", {"TIMEOUT": params.get("TIMEOUT", 300)})

    add = _resilient("add")
    get = _resilient("get")
    set = _resilient("set")
    touch = _resilient("touch")
    delete = _resilient("delete")
    get_many = _resilient("get_many")
    has_key = _resilient("has_key")
    incr = _resilient("incr")
    set_many = _resilient("set_many")
    delete_many = _resilient("delete_many")
    clear = _resilient("clear")
