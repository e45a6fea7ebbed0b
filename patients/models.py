"""Patients, treatment episodes, consent, outcome interviews (TOP) and the access log.

Clinical history is never deleted (on_delete=PROTECT); consent is append-only (a
withdrawal is a new entry); every change to a patient, episode or consent is kept by
django-simple-history with who and when.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from clinics.models import Clinic
from partners.models import PartnerOrganisation

from .validators import validate_nhs_number


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    NOT_STATED = "not_stated", "Not stated"


class ContactRoute(models.TextChoices):
    """How the patient agreed we (and partners) may contact them."""

    PHONE = "phone", "Phone call"
    TEXT = "text", "Text message"
    EMAIL = "email", "Email"
    POST = "post", "Letter"
    AT_CLINIC = "at_clinic", "Only in person at the clinic"
    VIA_KEYWORKER = "via_keyworker", "Only through their keyworker"


class PatientStatus(models.TextChoices):
    INDUCTION = "induction", "Induction"
    MAINTENANCE = "maintenance", "Maintenance"
    HELD = "held", "Held"
    DISCHARGED = "discharged", "Discharged"


class DischargeReason(models.TextChoices):
    """The controlled list of SPEC 3.8."""

    COMPLETED = "completed", "Treatment completed"
    TO_ORAL = "to_oral", "Transferred to oral treatment"
    TO_OTHER_SERVICE = "to_other_service", "Transferred to another service"
    DROPPED_OUT = "dropped_out", "Dropped out"
    CUSTODY = "custody", "In custody"
    MOVED_AWAY = "moved_away", "Moved away"
    DIED = "died", "Died"
    WITHDRAWN = "withdrawn", "Treatment withdrawn"
    OTHER = "other", "Other"


def photo_path(instance, filename: str) -> str:
    # An opaque name: no identifier in the storage path (SPEC 8).
    return f"patient-photos/{uuid.uuid4().hex}.jpg"


class Patient(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    nhs_number = models.CharField(
        "NHS number", max_length=10, blank=True, validators=[validate_nhs_number], help_text="10 digits; optional."
    )
    given_name = models.CharField(max_length=80)
    family_name = models.CharField(max_length=80)
    preferred_name = models.CharField(max_length=80, blank=True)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=12, choices=Sex.choices, default=Sex.NOT_STATED)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    contact_route = models.CharField(
        "safe contact route", max_length=20, choices=ContactRoute.choices, default=ContactRoute.AT_CLINIC
    )
    contact_notes = models.TextField(blank=True, help_text="e.g. do not leave voicemail")
    gp_practice = models.CharField("GP practice", max_length=160, blank=True)
    clinical_alert = models.CharField(
        "allergies and clinical alerts",
        max_length=200,
        blank=True,
        help_text="Shown to every nurse on the dosing board, e.g. 'Allergic to latex; seizure history'. "
        "Leave it empty if there is none.",
    )
    keyworker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="caseload"
    )
    photo = models.ImageField(upload_to=photo_path, blank=True)
    status = models.CharField(max_length=12, choices=PatientStatus.choices, default=PatientStatus.INDUCTION)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            # One record per NHS number across the service; people without one leave it blank.
            models.UniqueConstraint(
                fields=["nhs_number"],
                condition=~Q(nhs_number=""),
                name="unique_nhs_number",
                violation_error_message="A patient with this NHS number is already registered.",
            ),
        ]
        indexes = [
            # patient list and duplicate search: name within the user's clinics
            models.Index(fields=["clinic", "family_name", "given_name"], name="patient_clinic_name"),
            # duplicate detection: same name and date of birth
            models.Index(fields=["date_of_birth", "family_name"], name="patient_dob_name"),
        ]

    def __str__(self) -> str:
        return f"Patient {self.pk}"  # never a name in logs or reprs

    @property
    def display_name(self) -> str:
        preferred = f" ({self.preferred_name})" if self.preferred_name else ""
        return f"{self.given_name} {self.family_name}{preferred}"


class Episode(models.Model):
    """A treatment episode: from acceptance to discharge. Re-admission opens a new one."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="episodes")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="episodes")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    discharge_reason = models.CharField(max_length=20, choices=DischargeReason.choices, blank=True)
    discharge_notes = models.TextField(blank=True)
    discharged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(ended_on__isnull=True), name="one_open_episode_per_patient"
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True, discharge_reason="")
                | (Q(ended_on__isnull=False) & ~Q(discharge_reason="")),
                name="episode_ended_iff_discharge_reason",
                violation_error_message="An ended episode needs a discharge reason, and an open one has none.",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="episode_ends_after_it_starts",
                violation_error_message="An episode cannot end before it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"Episode {self.pk} of patient {self.patient_id}"

    @property
    def is_open(self) -> bool:
        return self.ended_on is None


class ConsentKind(models.TextChoices):
    TREATMENT = "treatment", "Treatment"
    DATA_SHARING = "data_sharing", "Data sharing with a partner"


class ConsentDecision(models.TextChoices):
    GIVEN = "given", "Given"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ConsentEntry(models.Model):
    """One dated consent decision. Never edited: the latest entry per (patient, kind, partner) is the live state."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(max_length=20, choices=ConsentKind.choices)
    partner = models.ForeignKey(
        PartnerOrganisation, on_delete=models.PROTECT, null=True, blank=True, related_name="consents"
    )
    decision = models.CharField(max_length=12, choices=ConsentDecision.choices)
    effective_at = models.DateTimeField(help_text="When the patient gave or withdrew it.")
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    # Entries are append-only; the history still catches any edit made outside the services (e.g. the admin).
    history = HistoricalRecords()

    class Meta:
        ordering = ["-effective_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="treatment", partner__isnull=True) | Q(kind="data_sharing", partner__isnull=False),
                name="consent_partner_iff_data_sharing",
                violation_error_message="A data-sharing consent names a partner; a treatment consent does not.",
            ),
        ]
        indexes = [
            # live-consent lookups: latest entry per patient, kind and partner
            models.Index(fields=["patient", "kind", "partner", "-effective_at"], name="consent_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} consent {self.decision} for patient {self.patient_id}"


def days_in_28():
    return [MinValueValidator(0), MaxValueValidator(28)]


def rating_0_20():
    return [MinValueValidator(0), MaxValueValidator(20)]


# Day counts over the last 28 days (0-28) and ratings (0-20), SPEC 3.6.
TOP_DAY_FIELDS = (
    "heroin_days",
    "other_opiate_days",
    "crack_days",
    "cocaine_days",
    "amphetamine_days",
    "cannabis_days",
    "alcohol_days",
    "injected_days",
    "shoplifting_days",
    "selling_drugs_days",
    "paid_work_days",
    "education_days",
)
TOP_RATING_FIELDS = ("psychological_health", "physical_health", "quality_of_life")


class OutcomeInterview(models.Model):
    """Treatment Outcomes Profile (TOP): the last 28 days, at start and at least every 3 months (SPEC 3.6)."""

    DAY_FIELDS = TOP_DAY_FIELDS
    RATING_FIELDS = TOP_RATING_FIELDS

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="outcome_interviews")
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="outcome_interviews")
    interviewed_on = models.DateField()
    heroin_days = models.PositiveSmallIntegerField("days used street heroin", validators=days_in_28())
    other_opiate_days = models.PositiveSmallIntegerField("days used other opiates", validators=days_in_28())
    crack_days = models.PositiveSmallIntegerField("days used crack", validators=days_in_28())
    cocaine_days = models.PositiveSmallIntegerField("days used cocaine", validators=days_in_28())
    amphetamine_days = models.PositiveSmallIntegerField("days used amphetamines", validators=days_in_28())
    cannabis_days = models.PositiveSmallIntegerField("days used cannabis", validators=days_in_28())
    alcohol_days = models.PositiveSmallIntegerField("days drank alcohol", validators=days_in_28())
    injected_days = models.PositiveSmallIntegerField("days injected", validators=days_in_28())
    shared_equipment = models.BooleanField("shared injecting equipment")
    shoplifting_days = models.PositiveSmallIntegerField("days shoplifting", validators=days_in_28())
    selling_drugs_days = models.PositiveSmallIntegerField("days selling drugs", validators=days_in_28())
    other_theft = models.BooleanField("committed other theft")
    assault = models.BooleanField("committed assault or violence")
    psychological_health = models.PositiveSmallIntegerField(validators=rating_0_20())
    physical_health = models.PositiveSmallIntegerField(validators=rating_0_20())
    quality_of_life = models.PositiveSmallIntegerField(validators=rating_0_20())
    paid_work_days = models.PositiveSmallIntegerField("days in paid work", validators=days_in_28())
    education_days = models.PositiveSmallIntegerField("days in education or training", validators=days_in_28())
    acute_housing_problem = models.BooleanField()
    at_risk_of_eviction = models.BooleanField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-interviewed_on", "-pk"]
        constraints = [
            *[
                models.CheckConstraint(condition=Q(**{f"{name}__lte": 28}), name=f"top_{name}_at_most_28")
                for name in TOP_DAY_FIELDS
            ],
            *[
                models.CheckConstraint(condition=Q(**{f"{name}__lte": 20}), name=f"top_{name}_at_most_20")
                for name in TOP_RATING_FIELDS
            ],
        ]

    def __str__(self) -> str:
        return f"TOP {self.interviewed_on} for patient {self.patient_id}"


class AccessPart(models.TextChoices):
    """Which part of a patient's record was viewed."""

    RECORD = "record", "Record summary"
    DETAILS = "details", "Details (edit form)"
    PHOTO = "photo", "Photo"
    EPISODES = "episodes", "Episodes, discharge and re-admission"
    CONSENTS = "consents", "Consents"
    OUTCOMES = "outcomes", "Outcome interviews (TOP)"
    HISTORY = "history", "Change history"
    ACCESS_LOG = "access_log", "Access log"
    # Written by the dosing pages and API (dosing may use patients, never the other way round).
    DOSING = "dosing", "Dosing: slot, doses and checks"
    PRESCRIPTIONS = "prescriptions", "Prescriptions and missed-dose hold reviews"
    # Issue 11: a duplicate check that matched this patient from another clinic told the user that
    # this person is in treatment here (kept: it prevents double prescribing; logged like a view).
    DUPLICATE_MATCH = "duplicate_match", "Matched by a duplicate check at another clinic"
    # Issue 16: a police or probation partner read the patient's attendance under a diversion contract.
    DIVERSION = "diversion", "Diversion contract attendance (read by the partner)"


class AccessLogEntry(models.Model):
    """Who viewed which patient's record, or a part of it, when and through which channel (SPEC 8)."""

    class Channel(models.TextChoices):
        UI = "ui", "Web page"
        API = "api", "API"

    # A member of staff, or a partner organisation reading through the partner API (issue 16); one of the two.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    partner = models.ForeignKey(PartnerOrganisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="access_log")
    what = models.CharField(max_length=40, choices=AccessPart.choices)
    channel = models.CharField(max_length=3, choices=Channel.choices)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["patient", "-at"], name="access_log_patient")]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, partner__isnull=True) | Q(user__isnull=True, partner__isnull=False),
                name="access_log_by_staff_or_partner",
                violation_error_message="An access is by a member of staff or by a partner, not both.",
            ),
        ]

    def __str__(self) -> str:
        who = f"user {self.user_id}" if self.user_id else f"partner {self.partner_id}"
        return f"{self.what} of patient {self.patient_id} by {who}"

    @property
    def who(self) -> str:
        if self.partner_id:
            return f"{self.partner.name} (partner)"
        return self.user.get_full_name() or self.user.username
