"""What the in-process profiles (bench.poll_profile, bench.dose_profile, bench.stats_profile) share: the
benchmark server's settings (bench.server: DEBUG off, no Redis, 2FA off for the bench) in this process."""

import cProfile
import os
import pstats
import sys
from collections.abc import Callable

from .server import SECRET_KEY


def configure(missing: str) -> None:
    """The settings of the benchmark's server; exits with `missing` when DATABASE_URL is not set."""
    if not os.environ.get("DATABASE_URL"):
        sys.exit(missing)
    os.environ.pop("REDIS_URL", None)
    os.environ.update(
        DEBUG="0", SECRET_KEY=SECRET_KEY, ALLOWED_HOSTS="testserver", STAFF_2FA_REQUIRED="0",
        API_THROTTLE_USER="1000000/hour", STATIC_MANIFEST="0", HTTPS="0", CELERY_TASK_ALWAYS_EAGER="1",
        DJANGO_SETTINGS_MODULE="hat_clinic.settings",
    )  # fmt: skip


def percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(len(ordered) * q / 100) - 1)]


def print_profile(run: Callable[[], object], n: int, *, cumulative: int = 60, tottime: int = 30) -> cProfile.Profile:
    """`run()` n times under cProfile; prints its top functions by cumulative then own time."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(n):
        run()
    profile.disable()
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(cumulative)
    stats.sort_stats("tottime").print_stats(tottime)
    return profile
