"""Summary tables for commissioner statistics, so that the dashboard never scans millions of rows.

They hold nothing that is not in the raw records: each dosing row is a pure function of the
slots, administrations and adverse events of one clinic-local day, each outcome row a pure
function of the outcome interviews of one episode (see `reports.services`); rebuilt
idempotently by a job, never edited by hand (SPEC 7: "figures must come from the same records
the nurses write"). Days are clinic-local dates (the slot's `date`), so a day that is 23 or 25
hours long because of a clock change is still one day.

Small tables (episodes, referrals) are aggregated directly by the selectors.
"""

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from clinics.models import Clinic
from patients.models import Episode, OutcomeInterview


class SessionCounts(models.Model):
    """Slots counted by status, and adverse events (the columns of the session summaries).

    `slots` counts every slot; the others split it by status (given and partial are separate;
    open = still scheduled/arrived/checked), so `slots` = the sum of the status columns.
    """

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
    overdoses = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        abstract = True


def _parts_add_up(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(
            slots=models.F("open")
            + models.F("given")
            + models.F("partial")
            + models.F("withheld")
            + models.F("refused")
            + models.F("missed")
            + models.F("cancelled")
        ),
        name=name,
        violation_error_message="The status counts must add up to the slots.",
    )


class DoseCounts(models.Model):
    """Doses in force (the entry nobody corrected, dose > 0): the columns of the dose summaries."""

    doses = models.PositiveIntegerField(default=0)
    total_mg = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    patients_dosed = models.PositiveIntegerField(default=0, help_text="Distinct patients: patient-days.")
    refreshed_at = models.DateTimeField()

    class Meta:
        abstract = True


class DailySessionStats(SessionCounts):
    """Slots of one clinic, one clinic-local day and one session, counted by status; adverse events."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    session = models.CharField(max_length=10)

    class Meta:
        constraints = [
            # The refresh job's delete+insert relies on it; the statistics read ranges of (clinic, date).
            models.UniqueConstraint(fields=["clinic", "date", "session"], name="daily_session_stats_unique"),
            _parts_add_up("daily_session_stats_parts_add_up"),
        ]
        indexes = [
            # statistics(): all clinics of a commissioner over a date range
            models.Index(fields=["date", "clinic"], name="daily_session_stats_date"),
        ]

    def __str__(self) -> str:
        return f"Session stats {self.clinic_id} {self.date} {self.session}"


class DailyDoseStats(DoseCounts):
    """Doses in force of one clinic-local day and one drug."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    drug = models.CharField(max_length=20)

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


# A range of years reads whole months from these (610 rows for 10 clinics over 5 years, not 36,000), and
# only the days of a month cut by the start or the end from the daily tables. Each row is the sum of the
# daily rows of its clinic and calendar month, replaced by the same refresh in the same transaction.


class MonthlySessionStats(SessionCounts):
    """DailySessionStats of one clinic and one calendar month, all sessions added up."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The first day of the month.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "month"], name="monthly_session_stats_unique"),
            _parts_add_up("monthly_session_stats_parts_add_up"),
        ]
        indexes = [
            # statistics(): all clinics of a commissioner over a range of months
            models.Index(fields=["month", "clinic"], name="monthly_session_stats_month"),
        ]

    def __str__(self) -> str:
        return f"Session stats {self.clinic_id} {self.month:%Y-%m}"


class MonthlyDoseStats(DoseCounts):
    """DailyDoseStats of one clinic, one calendar month and one drug, added up."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The first day of the month.")
    drug = models.CharField(max_length=20)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "month", "drug"], name="monthly_dose_stats_unique"),
        ]
        indexes = [
            # statistics(): all clinics of a commissioner over a range of months
            models.Index(fields=["month", "clinic"], name="monthly_dose_stats_month"),
        ]

    def __str__(self) -> str:
        return f"Dose stats {self.clinic_id} {self.month:%Y-%m} {self.drug}"


def _measure(default=models.NOT_PROVIDED):
    return models.PositiveSmallIntegerField(default=default)


class OutcomeFollowUp(models.Model):
    """A follow-up TOP interview (any but the first of its episode), beside the first one (SPEC 7: start vs latest).

    The statistics compare each episode's first interview with its latest one in a period. A row holds
    both sets of measures and the date of the episode's next interview, so "the latest of its episode in
    the period" is a test on one row (the next interview is after the period, or there is none) instead of
    a sort of every interview per request. Measures are as the statistics count them: days, ratings, and
    flags as 0 or 1 (so that a sum is how many said yes).
    """

    # The TOP measures of the statistics, each a column below and again with the prefix `start_`.
    MEASURES = (
        "heroin_days",
        "crime_days",
        "psychological_health",
        "physical_health",
        "quality_of_life",
        "paid_work_days",
        "any_crime",
        "housing_problem",
        "in_work_or_education",
        "other_opiate_days",
        "crack_days",
        "injected_days",
        "shoplifting_days",
        "selling_drugs_days",
        "other_theft",
        "assault",
    )

    interview = models.OneToOneField(OutcomeInterview, on_delete=models.CASCADE, related_name="+")
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="+")
    start_interview = models.ForeignKey(OutcomeInterview, on_delete=models.CASCADE, related_name="+")
    interviewed_on = models.DateField()
    next_interviewed_on = models.DateField(
        null=True, blank=True, help_text="The date of the episode's following interview; empty for its latest."
    )
    # The episode's next interview is in a later calendar week / month / quarter, or there is none.
    latest_of_week = models.BooleanField()
    latest_of_month = models.BooleanField()
    latest_of_quarter = models.BooleanField()
    heroin_days = _measure()
    crime_days = _measure()
    psychological_health = _measure()
    physical_health = _measure()
    quality_of_life = _measure()
    paid_work_days = _measure()
    any_crime = _measure()
    housing_problem = _measure()
    in_work_or_education = _measure()
    start_heroin_days = _measure()
    start_crime_days = _measure()
    start_psychological_health = _measure()
    start_physical_health = _measure()
    start_quality_of_life = _measure()
    start_paid_work_days = _measure()
    start_any_crime = _measure()
    start_housing_problem = _measure()
    start_in_work_or_education = _measure()
    # Issue 15: the paired change of each TOP measure (0 for rows written before these columns existed,
    # until the refresh job's nightly run rewrites every episode's rows).
    other_opiate_days = _measure(0)
    crack_days = _measure(0)
    injected_days = _measure(0)
    shoplifting_days = _measure(0)
    selling_drugs_days = _measure(0)
    other_theft = _measure(0)
    assault = _measure(0)
    start_other_opiate_days = _measure(0)
    start_crack_days = _measure(0)
    start_injected_days = _measure(0)
    start_shoplifting_days = _measure(0)
    start_selling_drugs_days = _measure(0)
    start_other_theft = _measure(0)
    start_assault = _measure(0)
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [
            # statistics(): the follow-ups of a date range (the episode gives the clinic)
            models.Index(fields=["interviewed_on"], name="outcome_follow_up_date"),
            # statistics(): each episode's latest follow-up in a range (no next one, or one after the range)
            models.Index(fields=["next_interviewed_on"], name="outcome_follow_up_next"),
        ]

    def __str__(self) -> str:
        return f"Outcome follow-up {self.interview_id} of episode {self.episode_id}"


class MonthlyOutcomeStats(models.Model):
    """The OutcomeFollowUp rows of one clinic and calendar month that are the latest of their episode in their
    month (granularity "month") or quarter ("quarter"), added up: the TOP figures by period, pre-summed.

    A month or quarter inside the chosen range sums the latest follow-up of each episode in it: that is a sum of
    these rows (a few hundred over years, instead of tens of thousands of follow-ups per request). Replaced by
    the refresh job in the same transaction as the follow-ups of its months (`services._roll_up_outcomes`).
    The clinic is the episode's. Only the measures shown by period are summed (selectors.SHOWN_MEASURES).
    """

    MEASURES = (
        "heroin_days",
        "crime_days",
        "psychological_health",
        "physical_health",
        "quality_of_life",
        "paid_work_days",
        "any_crime",
        "housing_problem",
        "in_work_or_education",
    )

    class LatestOf(models.TextChoices):
        MONTH = "month", "Latest of its month"
        QUARTER = "quarter", "Latest of its quarter"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The first day of the month.")
    latest_of = models.CharField(max_length=10, choices=LatestOf.choices)
    n = models.PositiveIntegerField(help_text="Follow-ups summed: episodes with their latest of the period here.")
    heroin_days = models.PositiveIntegerField()
    crime_days = models.PositiveIntegerField()
    psychological_health = models.PositiveIntegerField()
    physical_health = models.PositiveIntegerField()
    quality_of_life = models.PositiveIntegerField()
    paid_work_days = models.PositiveIntegerField()
    any_crime = models.PositiveIntegerField()
    housing_problem = models.PositiveIntegerField()
    in_work_or_education = models.PositiveIntegerField()
    start_heroin_days = models.PositiveIntegerField()
    start_crime_days = models.PositiveIntegerField()
    start_psychological_health = models.PositiveIntegerField()
    start_physical_health = models.PositiveIntegerField()
    start_quality_of_life = models.PositiveIntegerField()
    start_paid_work_days = models.PositiveIntegerField()
    start_any_crime = models.PositiveIntegerField()
    start_housing_problem = models.PositiveIntegerField()
    start_in_work_or_education = models.PositiveIntegerField()
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "month", "latest_of"], name="monthly_outcome_stats_unique"),
        ]
        indexes = [
            # statistics(): all clinics of a commissioner over a range of months, for one granularity
            models.Index(fields=["latest_of", "month", "clinic"], name="monthly_outcome_stats_month"),
        ]

    def __str__(self) -> str:
        return f"Outcome stats {self.clinic_id} {self.month:%Y-%m} latest of {self.latest_of}"


class RefreshState(models.Model):
    """Where the incremental refresh job got to: the highest ids it has seen (one row, name='summaries')."""

    name = models.CharField(max_length=40, unique=True)
    last_slot_id = models.BigIntegerField(default=0)
    last_administration_id = models.BigIntegerField(default=0)
    last_adverse_event_id = models.BigIntegerField(default=0)
    last_interview_id = models.BigIntegerField(default=0)
    # Edits and deletions of interviews (the admin) leave a change-history row: its id is the watermark.
    last_interview_history_id = models.BigIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_full_run_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every refresh, in its transaction: part of the key under which presented reports are cached.
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Refresh state {self.name}"


class OffenceType(models.TextChoices):
    """The offences TOP asks about (days of the last 28, or yes/no), priced for the cost estimate."""

    SHOPLIFTING = "shoplifting", "Shoplifting (per day)"
    SELLING_DRUGS = "selling_drugs", "Selling drugs (per day)"
    OTHER_THEFT = "other_theft", "Other theft (per 28 days reported)"
    ASSAULT = "assault", "Assault or violence (per 28 days reported)"


class ClinicCosts(models.Model):
    """What a clinic's treatment costs and what the crime it prevents would cost, set by the clinic manager.

    The dashboard's cost view (issue 15, item 4) is an estimate built only from these figures and the TOP
    change; with nothing set it shows no figure. Each figure carries the source it was taken from.
    """

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="+")
    cost_per_patient_day = models.DecimalField(max_digits=9, decimal_places=2)
    cost_source = models.CharField("source of the treatment cost", max_length=300)
    updated_by = models.ForeignKey("clinics.User", on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(cost_per_patient_day__gt=0), name="clinic_costs_positive"),
        ]

    def __str__(self) -> str:
        return f"Costs of clinic {self.clinic_id}"


class OffenceUnitCost(models.Model):
    """The unit cost of one offence type for one clinic, with its source (e.g. Home Office, 2018)."""

    costs = models.ForeignKey(ClinicCosts, on_delete=models.CASCADE, related_name="offences")
    offence = models.CharField(max_length=20, choices=OffenceType.choices)
    unit_cost = models.DecimalField(max_digits=9, decimal_places=2)
    source = models.CharField(max_length=300)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["costs", "offence"], name="offence_unit_cost_unique"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="offence_unit_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.offence} for clinic costs {self.costs_id}"
