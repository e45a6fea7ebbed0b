"""seed_scale: refuses a database with real records, and writes records the summaries agree with."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from django.utils import timezone

from dosing.models import Administration, PrescriberLicence, Prescription, Slot
from dosing.services.licences import licence_state
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


def test_every_seeded_prescriber_holds_a_licence_for_their_clinic_today():
    """S14: without one, every diamorphine dose of the seeded prescriptions is refused (the benchmark doses them)."""
    call_command("seed_scale", "--clinics", "2", "--patients", "2", "--years", "1", stdout=io.StringIO())

    live = Prescription.objects.filter(superseded_at__isnull=True, stopped_at__isnull=True).select_related("patient")
    assert live.exists()
    for prescription in live:
        clinic = prescription.patient.clinic
        today = timezone.localdate(timezone.now(), clinic.zone)
        assert licence_state(prescriber_id=prescription.prescriber_id, clinic=clinic, day=today) == (True, None)
    assert PrescriberLicence.objects.count() == 2
    # Recorded by the clinic's manager, with its history row (as the manager's page would leave it).
    for licence in PrescriberLicence.objects.all():
        assert licence.recorded_by.groups.filter(name="clinic_manager").exists()
        assert licence.recorded_by.clinics.filter(pk=licence.clinic_id).exists()
        assert licence.history.get().history_user == licence.recorded_by
