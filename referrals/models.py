"""Incoming referrals, the treatment history taken at intake, and each clinic's eligibility criteria.

A referral moves new -> assessing -> awaiting_prescriber -> accepted | declined, or is
withdrawn while open (SPEC 3.1-3.2). Every change is kept by django-simple-history with who
and when; an accepted referral points at the patient it created.
"""

import calendar
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.models import HistoricalRecords

from clinics.models import Clinic
from partners.models import PartnerOrganisation
from patients.models import ContactRoute, Patient, Sex
from patients.validators import validate_nhs_number

# Nobody in treatment is this old; an older date of birth is a typing mistake.
OLDEST_PLAUSIBLE_AGE = 100


class ReferralSource(models.TextChoices):
    GP = "gp", "GP"
    COMMUNITY_DRUG_SERVICE = "community_drug_service", "Community drug service"
    PROBATION = "probation", "Probation"
    POLICE_DIVERSION = "police_diversion", "Police diversion scheme"
    SELF = "self", "Self-referral"
    OTHER = "other", "Other"


class ReferralStatus(models.TextChoices):
    NEW = "new", "New"
    ASSESSING = "assessing", "Assessing"
    AWAITING_PRESCRIBER = "awaiting_prescriber", "Awaiting prescriber"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


OPEN_STATUSES = (ReferralStatus.NEW, ReferralStatus.ASSESSING, ReferralStatus.AWAITING_PRESCRIBER)


class Recommendation(models.TextChoices):
    ACCEPT = "accept", "Accept"
    DECLINE = "decline", "Decline"


def three_months_before(day: date) -> date:
    month, year = day.month - 3, day.year
    if month <= 0:
        month, year = month + 12, year - 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def days_in_last_three_months(day: date) -> int:
    """The number of days in the three calendar months before `day` (89 to 92)."""
    return (day - three_months_before(day)).days


class Referral(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="referrals")
    source = models.CharField(max_length=30, choices=ReferralSource.choices)
    referrer_organisation = models.CharField("referring organisation", max_length=160, blank=True)
    referrer_name = models.CharField("referrer's name", max_length=120, blank=True)
    referrer_phone = models.CharField("referrer's phone", max_length=40, blank=True)
    referrer_email = models.EmailField("referrer's email", blank=True)
    received_on = models.DateField("date received")

    # The person referred
    given_name = models.CharField(max_length=80)
    family_name = models.CharField(max_length=80)
    date_of_birth = models.DateField()
    nhs_number = models.CharField(
        "NHS number", max_length=10, blank=True, validators=[validate_nhs_number], help_text="10 digits; optional."
    )
    sex = models.CharField(max_length=12, choices=Sex.choices, default=Sex.NOT_STATED)
    phone = models.CharField(max_length=40, blank=True)
    contact_route = models.CharField(
        "safe contact route", max_length=20, choices=ContactRoute.choices, default=ContactRoute.AT_CLINIC
    )
    contact_notes = models.TextField(blank=True, help_text="e.g. do not leave voicemail")

    # Substance and treatment history; blank means "not known yet" and makes a criterion unknown.
    years_dependent = models.PositiveSmallIntegerField(
        "years of opioid dependence", null=True, blank=True, validators=[MaxValueValidator(80)]
    )
    months_in_oral_treatment = models.PositiveSmallIntegerField(
        "months in current oral treatment", null=True, blank=True, validators=[MaxValueValidator(600)]
    )
    injecting_days_last_3_months = models.PositiveSmallIntegerField(
        "days injecting street heroin in the last 3 months",
        null=True,
        blank=True,
        validators=[MaxValueValidator(92)],
        help_text="0 to 92 days.",
    )

    # Exclusions: None means "not asked yet".
    pregnant = models.BooleanField(null=True, blank=True)
    contraindication = models.BooleanField("contraindicating condition", null=True, blank=True)
    exclusion_notes = models.TextField(blank=True)

    status = models.CharField(max_length=20, choices=ReferralStatus.choices, default=ReferralStatus.NEW)
    # Taken in by a member of staff, or submitted through the partner API by a police or
    # probation partner (SPEC 6); exactly one of the two.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_by_partner = models.ForeignKey(
        PartnerOrganisation, on_delete=models.PROTECT, null=True, blank=True, related_name="submitted_referrals"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assessment_started_at = models.DateTimeField(null=True, blank=True)
    recommendation = models.CharField(max_length=10, choices=Recommendation.choices, blank=True)
    recommendation_notes = models.TextField(blank=True)
    recommended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recommended_at = models.DateTimeField(null=True, blank=True)

    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    override_reason = models.TextField(
        blank=True, help_text="Why the prescriber accepted although a criterion was not met or not known."
    )
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals")
    # A partner's submission is always received (issue 11): a partner must not learn from our answer
    # whom we already know. When the same person had an open referral then, it is linked here for
    # the keyworker to check, and the one-open-referral rule below does not apply to it.
    possible_duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The open referral of the same person that existed when a partner submitted this one.",
    )

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-received_on", "-pk"]
        constraints = [
            # One open referral per person across the service: a second is refused at intake,
            # and these catch two intakes racing each other.
            models.UniqueConstraint(
                fields=["nhs_number"],
                condition=Q(status__in=OPEN_STATUSES, possible_duplicate_of__isnull=True) & ~Q(nhs_number=""),
                name="one_open_referral_per_nhs_number",
                violation_error_message="There is already an open referral for this NHS number.",
            ),
            models.UniqueConstraint(
                Lower("given_name"),
                Lower("family_name"),
                "date_of_birth",
                condition=Q(status__in=OPEN_STATUSES, possible_duplicate_of__isnull=True),
                name="one_open_referral_per_name_and_dob",
                violation_error_message="There is already an open referral for this name and date of birth.",
            ),
            models.CheckConstraint(
                condition=Q(injecting_days_last_3_months__isnull=True) | Q(injecting_days_last_3_months__lte=92),
                name="referral_injecting_days_at_most_92",
                violation_error_message="Injecting days in the last 3 months are 0 to 92.",
            ),
            models.CheckConstraint(
                condition=Q(status=ReferralStatus.ACCEPTED, patient__isnull=False, decided_by__isnull=False)
                | (~Q(status=ReferralStatus.ACCEPTED) & Q(patient__isnull=True)),
                name="referral_patient_iff_accepted",
                violation_error_message="An accepted referral links to the patient it created; no other does.",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReferralStatus.DECLINED) | (~Q(decision_reason="") & Q(decided_by__isnull=False)),
                name="referral_declined_with_reason",
                violation_error_message="A declined referral needs a reason and the prescriber who declined it.",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReferralStatus.WITHDRAWN) | ~Q(withdrawal_reason=""),
                name="referral_withdrawn_with_reason",
                violation_error_message="A withdrawn referral needs a reason.",
            ),
            models.CheckConstraint(
                condition=Q(created_by__isnull=False, submitted_by_partner__isnull=True)
                | Q(created_by__isnull=True, submitted_by_partner__isnull=False),
                name="referral_taken_in_by_staff_or_partner",
                violation_error_message="A referral is taken in by a member of staff or submitted by a partner.",
            ),
        ]
        indexes = [
            # the inbox: a clinic's referrals by status, newest first
            models.Index(fields=["clinic", "status", "-received_on"], name="referral_inbox"),
            # open-referral duplicate check by name and date of birth
            models.Index(fields=["date_of_birth", "family_name"], name="referral_dob_name"),
        ]

    def __str__(self) -> str:
        return f"Referral {self.pk}"  # never a name in logs or reprs

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def clean(self):
        errors = {}
        today = timezone.localdate()
        if self.date_of_birth:
            if self.date_of_birth > today:
                errors["date_of_birth"] = "The date of birth cannot be in the future."
            elif self.date_of_birth < date(today.year - OLDEST_PLAUSIBLE_AGE, today.month, 1):
                errors["date_of_birth"] = (
                    f"A date of birth more than {OLDEST_PLAUSIBLE_AGE} years ago is not plausible; please check it."
                )
        if self.received_on and self.received_on > today:
            errors["received_on"] = "The date received cannot be in the future."
        if self.received_on and self.injecting_days_last_3_months is not None:
            period = days_in_last_three_months(self.received_on)
            if self.injecting_days_last_3_months > period:
                errors["injecting_days_last_3_months"] = (
                    f"The 3 months before {self.received_on:%-d %b %Y} have {period} days; enter 0 to {period}."
                )
        if self.given_name:
            self.given_name = self.given_name.strip()
        if self.family_name:
            self.family_name = self.family_name.strip()
        if errors:
            raise ValidationError(errors)


class TreatmentKind(models.TextChoices):
    METHADONE = "methadone", "Methadone"
    BUPRENORPHINE = "buprenorphine", "Buprenorphine"
    SLOW_RELEASE_MORPHINE = "slow_release_morphine", "Slow-release oral morphine"
    OTHER = "other", "Other oral treatment"


class EpisodeEnd(models.TextChoices):
    FAILED = "failed", "Failed or relapsed"
    DROPPED_OUT = "dropped_out", "Dropped out"
    COMPLETED = "completed", "Completed"
    ONGOING = "ongoing", "Still ongoing"
    OTHER = "other", "Other"


# Ends that count as an oral treatment "that failed" (SPEC 3.2): it did not keep the person off street heroin.
FAILED_ENDS = (EpisodeEnd.FAILED, EpisodeEnd.DROPPED_OUT)


class PreviousTreatmentEpisode(models.Model):
    """A previous (or the current) oral treatment episode, as taken at intake."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="previous_episodes")
    kind = models.CharField(max_length=24, choices=TreatmentKind.choices, default=TreatmentKind.METHADONE)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    why_ended = models.CharField("why it ended", max_length=12, choices=EpisodeEnd.choices)
    notes = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["started_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="previous_episode_ends_after_it_starts",
                violation_error_message="An episode cannot end before it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"Previous episode {self.pk} of referral {self.referral_id}"

    @property
    def failed(self) -> bool:
        return self.why_ended in FAILED_ENDS

    def clean(self):
        errors = {}
        today = timezone.localdate()
        if self.started_on and self.started_on > today:
            errors["started_on"] = "The start date cannot be in the future."
        if self.ended_on and self.ended_on > today:
            errors["ended_on"] = "The end date cannot be in the future."
        elif self.started_on and self.ended_on and self.ended_on < self.started_on:
            errors["ended_on"] = "The end date cannot be before the start date."
        if self.why_ended == EpisodeEnd.ONGOING and self.ended_on:
            errors["why_ended"] = "An episode that is still ongoing has no end date."
        if errors:
            raise ValidationError(errors)


class EligibilityCriteria(models.Model):
    """A clinic's eligibility criteria (SPEC 3.2); the defaults are the UK ones. Edited by the clinic manager."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="eligibility_criteria")
    min_age = models.PositiveSmallIntegerField(
        "minimum age", default=18, validators=[MinValueValidator(16), MaxValueValidator(65)]
    )
    min_years_dependence = models.PositiveSmallIntegerField(
        "minimum years of opioid dependence", default=3, validators=[MaxValueValidator(20)]
    )
    min_failed_oral_episodes = models.PositiveSmallIntegerField(
        "minimum failed oral treatment episodes", default=2, validators=[MaxValueValidator(10)]
    )
    # RIOTT's alternative route: long enough in oral treatment and still injecting most days.
    min_months_in_oral_treatment = models.PositiveSmallIntegerField(
        "or: minimum months in oral treatment", default=6, validators=[MaxValueValidator(60)]
    )
    min_injecting_share = models.PositiveSmallIntegerField(
        "and: minimum share of days injecting in the last 3 months (%)",
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name_plural = "eligibility criteria"
        constraints = [
            models.CheckConstraint(
                condition=Q(min_injecting_share__gte=1, min_injecting_share__lte=100),
                name="eligibility_injecting_share_is_a_percentage",
                violation_error_message="The injecting share is a percentage from 1 to 100.",
            ),
            models.CheckConstraint(
                condition=Q(min_age__gte=16),
                name="eligibility_min_age_at_least_16",
                violation_error_message="The minimum age cannot be below 16.",
            ),
        ]

    def __str__(self) -> str:
        return f"Eligibility criteria of clinic {self.clinic_id}"


# What an intake records about the referrer and the person, in form order: one list for the
# intake form and the API, so the two cannot drift apart.
INTAKE_FIELDS = (
    "referrer_organisation",
    "referrer_name",
    "referrer_phone",
    "referrer_email",
    "given_name",
    "family_name",
    "date_of_birth",
    "nhs_number",
    "sex",
    "phone",
    "contact_route",
    "contact_notes",
    "years_dependent",
    "months_in_oral_treatment",
    "injecting_days_last_3_months",
    "pregnant",
    "contraindication",
    "exclusion_notes",
)
