"""seed_scale: refuses a database with real records, and writes records the summaries agree with."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from dosing.models import Administration, Slot
from patients.models import Episode
from reports.models import DailySessionStats

from .test_summaries import recomputed, summarised

pytestmark = pytest.mark.django_db


def test_it_refuses_a_database_that_holds_other_records(clinic):
    with pytest.raises(CommandError, match="not scale data"):
        call_command("seed_scale", "--clinics", "1", "--patients", "2", "--years", "1", stdout=io.StringIO())


def test_it_writes_consistent_records_and_builds_the_summaries():
    out = io.StringIO()
    call_command("seed_scale", "--clinics", "2", "--patients", "4", "--years", "1", stdout=out)

    assert "done:" in out.getvalue()
    assert Slot.objects.count() > 2000
    # S9: the witness is never the nurse; S1: one original administration per slot (constraints held throughout).
    assert not Administration.objects.filter(witness=F("nurse")).exists()
    assert (
        Episode.objects.filter(ended_on__isnull=True).values("patient").distinct().count()
        == Episode.objects.filter(ended_on__isnull=True).count()
    )
    assert DailySessionStats.objects.exists()
    assert summarised() == recomputed()
    with pytest.raises(CommandError, match="scale data already"):
        call_command("seed_scale", "--clinics", "1", "--patients", "1", "--years", "1", stdout=io.StringIO())
