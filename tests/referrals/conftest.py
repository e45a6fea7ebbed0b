import datetime as dt

import pytest
import time_machine

from tests.factories import StaffFactory

# Saturday 21 Nov 2026, noon in Middlesbrough. Browser tests run on the real clock (Chromium waits on it).
NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _pinned_clock(request):
    if request.node.get_closest_marker("browser"):
        yield
        return
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def other_keyworker(other_clinic):
    return StaffFactory(username="oli.keyworker", roles=["keyworker"], clinics=[other_clinic])


@pytest.fixture
def keyworker_and_prescriber(clinic):
    """One person holding both roles, as in a small clinic."""
    return StaffFactory(username="kim.both", roles=["keyworker", "prescriber"], clinics=[clinic])
