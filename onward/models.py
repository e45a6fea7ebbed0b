"""Onward referrals to partner agencies (SPEC 3.7, 6): what a partner is asked to do for a patient, and its timeline.

The tables keep the names they had in the referrals app (db_table below), so moving the models
here moved no data.
"""

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from clinics.models import Clinic
from partners.models import PartnerOrganisation
from patients.models import ContactRoute, Patient


class NeedKind(models.TextChoices):
    HOUSING = "housing", "Housing"
    EMPLOYMENT = "employment", "Employment"
    TRAINING = "training", "Training or education"
    BENEFITS = "benefits", "Benefits and money"
    MENTAL_HEALTH = "mental_health", "Mental health"
    PROBATION = "probation", "Probation"
    OTHER = "other", "Other"


class OnwardStatus(models.TextChoices):
    SENT = "sent", "Sent"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    APPOINTMENT_BOOKED = "appointment_booked", "Appointment booked"
    ATTENDED = "attended", "Attended"
    DID_NOT_ATTEND = "did_not_attend", "Did not attend"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


# Once here, the referral is finished: no reminder is sent and nothing more may change.
FINISHED_ONWARD_STATUSES = (OnwardStatus.CLOSED, OnwardStatus.CANCELLED)


class OnwardOutcome(models.TextChoices):
    NEED_MET = "need_met", "Need met"
    PARTLY_MET = "partly_met", "Need partly met"
    NOT_MET = "not_met", "Need not met"
    NOT_ELIGIBLE = "not_eligible", "Not eligible for the service"
    DECLINED_BY_PATIENT = "declined_by_patient", "Declined by the patient"
    NO_CONTACT = "no_contact", "Could not make contact"
    OTHER = "other", "Other"


# No 0, O, 1, I, L or U: a reference read out over the phone is not misheard.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_onward_reference() -> str:
    """An opaque reference such as OR-7F3K2Q: what the partner sees; it names nobody and counts nothing."""
    return "OR-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


class OnwardReferral(models.Model):
    """A referral of one of our patients to a partner agency for a need, followed up until closed.

    The partner sees the minimum (SPEC 6), and only while the patient's data-sharing consent
    with it is live. `version` grows with every change the partner can see: the ETag.
    """

    reference = models.CharField(max_length=12, unique=True, default=new_onward_reference, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="onward_referrals")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="onward_referrals")
    partner = models.ForeignKey(PartnerOrganisation, on_delete=models.PROTECT, related_name="onward_referrals")
    need_kind = models.CharField("kind of need", max_length=20, choices=NeedKind.choices)
    need = models.TextField("the need", help_text="What the patient needs from the partner, in plain words.")
    contact_route = models.CharField(
        "contact route agreed with the patient", max_length=20, choices=ContactRoute.choices
    )
    status = models.CharField(max_length=20, choices=OnwardStatus.choices, default=OnwardStatus.SENT)
    appointment_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=24, choices=OnwardOutcome.choices, blank=True)
    outcome_notes = models.TextField(blank=True)
    cancel_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        db_table = "referrals_onwardreferral"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=OnwardStatus.CLOSED, finished_at__isnull=False) & ~Q(outcome="")
                | ~Q(status=OnwardStatus.CLOSED) & Q(outcome=""),
                name="onward_closed_iff_outcome",
                violation_error_message="A closed onward referral has an outcome; no other has one.",
            ),
            models.CheckConstraint(
                condition=~Q(status=OnwardStatus.CANCELLED) | (~Q(cancel_reason="") & Q(finished_at__isnull=False)),
                name="onward_cancelled_with_reason",
                violation_error_message="A cancelled onward referral needs a reason.",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[OnwardStatus.APPOINTMENT_BOOKED, OnwardStatus.ATTENDED])
                | Q(appointment_at__isnull=False),
                name="onward_booked_has_appointment",
                violation_error_message="A booked or attended appointment needs its date and time.",
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1),
                name="onward_version_positive",
                violation_error_message="The version starts at 1.",
            ),
        ]
        indexes = [
            # The partner API's list: WHERE partner = %s ORDER BY updated_at, id (cursor pagination).
            models.Index(fields=["partner", "updated_at", "id"], name="onward_partner_updated"),
            # A patient's onward referrals, newest first.
            models.Index(fields=["patient", "-created_at"], name="onward_patient_created"),
            # A clinic's open onward referrals.
            models.Index(fields=["clinic", "status"], name="onward_clinic_status"),
        ]

    def __str__(self) -> str:
        return f"Onward referral {self.reference}"  # the reference names nobody

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_ONWARD_STATUSES

    @property
    def etag(self) -> str:
        return f'"{self.reference}.v{self.version}"'

    @property
    def cancel_key(self) -> str:
        """Groups the reminders about this referral in the outbox."""
        return f"referral.{self.pk}"


class OnwardEventKind(models.TextChoices):
    CREATED = "created", "Referral sent"
    STATUS = "status", "Status changed"
    APPOINTMENT = "appointment", "Appointment booked or changed"
    NOTE = "note", "Note"


class OnwardReferralEvent(models.Model):
    """The timeline of an onward referral: every change and note, by a member of staff or by the partner.

    Append-only: a mistake is put right by a new event.
    """

    referral = models.ForeignKey(OnwardReferral, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=12, choices=OnwardEventKind.choices)
    from_status = models.CharField(max_length=20, choices=OnwardStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=OnwardStatus.choices, blank=True)
    appointment_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=24, choices=OnwardOutcome.choices, blank=True)
    text = models.TextField(blank=True)
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    by_partner = models.ForeignKey(
        PartnerOrganisation, on_delete=models.PROTECT, null=True, blank=True, related_name="onward_referral_events"
    )
    at = models.DateTimeField()

    class Meta:
        db_table = "referrals_onwardreferralevent"
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(by_user__isnull=False, by_partner__isnull=True)
                | Q(by_user__isnull=True, by_partner__isnull=False),
                name="onward_event_by_staff_or_partner",
                violation_error_message="An event is made by a member of staff or by the partner, not both.",
            ),
        ]
        indexes = [models.Index(fields=["referral", "at"], name="onward_event_timeline")]

    def __str__(self) -> str:
        return f"{self.kind} event of onward referral {self.referral_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("The timeline is append-only: add a new event, never change one.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("The timeline is append-only: events are never deleted.")

    @property
    def by_label(self) -> str:
        return str(self.by_partner) if self.by_partner_id else str(self.by_user)


class OnwardReferralSettings(models.Model):
    """A clinic's reminder settings for onward referrals (SPEC 6). Unsaved defaults apply until changed."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="onward_referral_settings")
    acknowledge_within_working_days = models.PositiveSmallIntegerField(
        "remind the partner when not acknowledged within (working days)",
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
    )
    silent_after_reminder_working_days = models.PositiveSmallIntegerField(
        "tell the keyworker when the partner is still silent after a reminder for (working days)",
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
    )
    outcome_overdue_days = models.PositiveSmallIntegerField(
        "an outcome is overdue this many days after the appointment",
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "referrals_onwardreferralsettings"
        verbose_name_plural = "onward referral settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(acknowledge_within_working_days__gte=1)
                & Q(silent_after_reminder_working_days__gte=1)
                & Q(outcome_overdue_days__gte=1),
                name="onward_settings_positive",
                violation_error_message="Each reminder period is at least one day.",
            ),
        ]

    def __str__(self) -> str:
        return f"Onward referral settings of clinic {self.clinic_id}"


# --- Diversion attendance confirmations (issue 16, SPEC 6) ------------------------------------

# Only these partners run diversion schemes (e.g. an adult offender diversion contract).
DIVERSION_PARTNER_KINDS = ("police", "probation")


class EngagementCondition(models.TextChoices):
    SESSIONS_PER_WEEK = "sessions_per_week", "At least N sessions attended a week"
    DAYS_PER_WEEK = "days_per_week", "At least one session a day on N days a week"


def new_diversion_reference() -> str:
    """An opaque reference such as DV-7F3K2Q: what the partner quotes; it names nobody."""
    return "DV-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


class DiversionContract(models.Model):
    """A police or probation diversion contract of one of our patients, recorded by a keyworker.

    The partner reads, per week, whether the patient met the engagement condition, and nothing
    clinical; only while the patient's data-sharing consent with it is live, the contract has not
    ended and the treatment episode it was recorded in is open.
    """

    reference = models.CharField(max_length=12, unique=True, default=new_diversion_reference, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="diversion_contracts")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="diversion_contracts")
    # The treatment episode the contract was recorded in: when it ends, the partner's access ends,
    # and a readmission does not bring it back (a new contract is recorded).
    episode = models.ForeignKey("patients.Episode", on_delete=models.PROTECT, related_name="diversion_contracts")
    partner = models.ForeignKey(PartnerOrganisation, on_delete=models.PROTECT, related_name="diversion_contracts")
    partner_reference = models.CharField(
        "the partner's reference", max_length=60, help_text="The scheme's own reference for the contract."
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    condition = models.CharField("engagement condition", max_length=20, choices=EngagementCondition.choices)
    condition_count = models.PositiveSmallIntegerField(
        "N", validators=[MinValueValidator(1), MaxValueValidator(21)], help_text="Sessions (1-21) or days (1-7)."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    end_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-starts_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")),
                name="diversion_ends_after_it_starts",
                violation_error_message="A contract cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(condition_count__gte=1)
                & (
                    Q(condition="sessions_per_week", condition_count__lte=21)
                    | Q(condition="days_per_week", condition_count__lte=7)
                ),
                name="diversion_condition_count_in_range",
                violation_error_message="N is 1 to 21 sessions, or 1 to 7 days, a week.",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | (Q(ended_by__isnull=False) & ~Q(end_reason="")),
                name="diversion_ended_with_reason",
                violation_error_message="An ended contract needs who ended it and why.",
            ),
            # One live contract per patient and partner: a second would send two summaries a week.
            models.UniqueConstraint(
                fields=["patient", "partner"],
                condition=Q(ended_at__isnull=True),
                name="one_live_diversion_contract_per_partner",
                violation_error_message="This patient already has a live contract with this partner.",
            ),
        ]
        indexes = [
            # The partner API: WHERE partner = %s AND ended_at IS NULL (the live contracts it may read).
            models.Index(fields=["partner", "clinic"], condition=Q(ended_at__isnull=True), name="diversion_live"),
        ]

    def __str__(self) -> str:
        return f"Diversion contract {self.reference}"  # the reference names nobody

    @property
    def is_ended(self) -> bool:
        return self.ended_at is not None

    @property
    def cancel_key(self) -> str:
        """Groups the deliveries about this contract in the outbox."""
        return f"diversion.{self.pk}"

    @property
    def condition_text(self) -> str:
        if self.condition == EngagementCondition.DAYS_PER_WEEK:
            return f"at least one session a day on {self.condition_count} days a week"
        return f"at least {self.condition_count} sessions attended a week"
