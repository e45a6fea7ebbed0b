import datetime as dt

import pytest
import time_machine

from tests.factories import PartnerFactory

# Sunday 6 Dec 2026, noon in Middlesbrough. Browser tests run on the real clock (Chromium waits on it).
NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
NEXT_WEEK = NOW + dt.timedelta(days=7)


@pytest.fixture(autouse=True)
def _pinned_clock(request):
    if request.node.get_closest_marker("browser") or request.node.get_closest_marker("celery_worker"):
        yield
        return
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def public_health(clinic):
    return PartnerFactory(name="Public Health South Tees", kind="public_health", clinics=[clinic])


@pytest.fixture
def housing(clinic):
    return PartnerFactory(name="Thirteen Housing", kind="housing", clinics=[clinic])


@pytest.fixture
def alert_fields():
    return {
        "substance": "Heroin with nitazenes",
        "what_seen": "Blue-speckled brown powder",
        "area": "Middlesbrough town centre",
        "severity": "critical",
        "advice": "Do not use alone; carry naloxone.",
        "valid_until": NEXT_WEEK,
    }
