"""Summary tables for commissioner statistics, so that the dashboard never scans millions of rows.

They hold nothing that is not in the raw records: each row is a pure function of the slots,
administrations and adverse events of one clinic-local day (see `reports.services`), rebuilt
idempotently by a job, never edited by hand (SPEC 7: "figures must come from the same records
the nurses write"). Days are clinic-local dates (the slot's `date`), so a day that is 23 or 25
hours long because of a clock change is still one day.

Small tables (episodes, outcome interviews, referrals) are aggregated directly by the selectors.
"""

from django.db import models
from django.db.models import Q

from clinics.models import Clinic


class DailySessionStats(models.Model):
    """Slots of one clinic, one clinic-local day and one session, counted by status; adverse events.

    `slots` counts every slot; the others split it by status (given and partial are separate;
    open = still scheduled/arrived/checked), so `slots` = the sum of the status columns.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    session = models.CharField(max_length=10)
    slots = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0)
    given = models.PositiveIntegerField(default=0)
    partial = models.PositiveIntegerField(default=0)
    withheld = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    missed = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    adverse_events = models.PositiveIntegerField(default=0)
    naloxone_uses = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            # The refresh job's delete+insert relies on it; the statistics read ranges of (clinic, date).
            models.UniqueConstraint(fields=["clinic", "date", "session"], name="daily_session_stats_unique"),
            models.CheckConstraint(
                condition=Q(
                    slots=models.F("open")
                    + models.F("given")
                    + models.F("partial")
                    + models.F("withheld")
                    + models.F("refused")
                    + models.F("missed")
                    + models.F("cancelled")
                ),
                name="daily_session_stats_parts_add_up",
                violation_error_message="The status counts must add up to the slots.",
            ),
        ]
        indexes = [
            # statistics(): all clinics of a commissioner over a date range
            models.Index(fields=["date", "clinic"], name="daily_session_stats_date"),
        ]

    def __str__(self) -> str:
        return f"Session stats {self.clinic_id} {self.date} {self.session}"


class DailyDoseStats(models.Model):
    """Doses in force (the entry nobody corrected, dose > 0) of one clinic-local day and one drug."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    drug = models.CharField(max_length=20)
    doses = models.PositiveIntegerField(default=0)
    total_mg = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    patients_dosed = models.PositiveIntegerField(default=0, help_text="Distinct patients: patient-days.")
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "date", "drug"], name="daily_dose_stats_unique"),
        ]
        indexes = [
            # statistics(): all clinics of a commissioner over a date range
            models.Index(fields=["date", "clinic"], name="daily_dose_stats_date"),
        ]

    def __str__(self) -> str:
        return f"Dose stats {self.clinic_id} {self.date} {self.drug}"


class RefreshState(models.Model):
    """Where the incremental refresh job got to: the highest ids it has seen (one row, name='summaries')."""

    name = models.CharField(max_length=40, unique=True)
    last_slot_id = models.BigIntegerField(default=0)
    last_administration_id = models.BigIntegerField(default=0)
    last_adverse_event_id = models.BigIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_full_run_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every refresh, in its transaction: part of the key under which presented reports are cached.
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Refresh state {self.name}"
