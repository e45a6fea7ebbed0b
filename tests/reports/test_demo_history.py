"""Demo history (issue 15, item 8): plausible past records the statistics read, written once."""

import datetime
import io

import pytest
import time_machine

from dosing.models import Administration, Slot, SlotStatus
from patients.models import Episode, OutcomeInterview
from referrals.models import Referral
from reports import demo
from reports.cache import build_report
from reports.models import DailySessionStats, OutcomeFollowUp
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 18)


@pytest.fixture
def staff(clinic, nurse, second_nurse, prescriber, keyworker):
    return {"nurse": nurse, "nurse2": second_nurse, "prescriber": prescriber, "keyworker": keyworker}


@time_machine.travel(datetime.datetime(2026, 11, 18, 12, 0, tzinfo=datetime.UTC), tick=False)
def test_demo_history_is_plausible_read_by_the_statistics_and_written_once(clinic, staff):
    out = io.StringIO()
    demo.seed(clinics={"mbro": clinic}, staff=staff, stdout=out, history={"mbro": 6}, days=200)

    episodes = Episode.objects.filter(clinic=clinic)
    assert episodes.count() == 6
    assert all(TODAY - datetime.timedelta(days=200) <= e.started_on < TODAY for e in episodes)
    assert all(e.ended_on is None or (e.discharge_reason and e.ended_on < TODAY) for e in episodes)
    slots = Slot.objects.filter(clinic=clinic)
    assert slots.exists() and not slots.filter(date__gte=TODAY).exists()
    # Mostly given, some missed; every given slot has exactly its administration (S1), witness not the nurse (S9).
    given = slots.filter(status=SlotStatus.GIVEN).count()
    assert 0.7 < given / slots.count() < 0.99
    assert slots.filter(status=SlotStatus.MISSED).exists()
    assert Administration.objects.filter(slot__clinic=clinic).count() == given
    # TOP at entry and every 3 months (91 days) of each episode.
    for episode in episodes:
        last = episode.ended_on or TODAY - datetime.timedelta(days=1)
        assert OutcomeInterview.objects.filter(episode=episode).count() == (last - episode.started_on).days // 91 + 1
    assert Referral.objects.filter(clinic=clinic, patient__isnull=False).count() == 6
    # The summaries were rebuilt from it: the dashboard reads the history.
    assert DailySessionStats.objects.filter(clinic=clinic).exists()
    assert OutcomeFollowUp.objects.exists()
    report = build_report(
        clinics=[clinic], start=TODAY - datetime.timedelta(days=200), end=TODAY, granularity="month", as_of=TODAY
    )
    assert report["dosing"]["total"]["given"] not in (0, "*")
    assert "past sessions of history" in out.getvalue()

    demo.seed(clinics={"mbro": clinic}, staff=staff, stdout=io.StringIO(), history={"mbro": 6}, days=200)
    assert Episode.objects.filter(clinic=clinic).count() == 6  # idempotent


def test_the_demo_history_names_no_real_person(clinic, staff):
    demo.seed(clinics={"mbro": clinic}, staff=staff, stdout=io.StringIO(), history={"mbro": 3}, days=60)
    assert not Episode.objects.filter(patient__nhs_number__gt="").exists()
    assert StaffFactory._meta.model.objects.count() == 4  # nobody else was made
