"""Drug early-warning alerts (issue 16, part 2): contaminated or unexpectedly strong street supply.

An alert is published by a prescriber or clinic manager (or submitted by a public-health or
police partner and published after review), shown as a banner to every member of staff of its
clinic until each acknowledges it, and delivered to every active partner of the clinic.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinics.models import Clinic
from partners.models import PartnerOrganisation


class Severity(models.TextChoices):
    WARNING = "warning", "Warning"
    HIGH = "high", "High: deaths or overdoses likely"
    CRITICAL = "critical", "Critical: deaths or overdoses seen"


class AlertStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted by a partner, awaiting review"
    PUBLISHED = "published", "Published"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


class DrugAlertQuerySet(models.QuerySet):
    def live(self, *, now):
        """Published and not yet expired: what the banner shows."""
        return self.filter(status=AlertStatus.PUBLISHED, valid_until__gt=now)


class DrugAlert(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="drug_alerts")
    substance = models.CharField(max_length=120, help_text="e.g. heroin adulterated with nitazenes")
    what_seen = models.TextField(blank=True, help_text="What was seen, e.g. blue-speckled brown powder.")
    area = models.CharField(max_length=160, blank=True, help_text="Where, e.g. Middlesbrough town centre.")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    advice = models.TextField(blank=True, help_text="The advice to give to patients.")
    valid_until = models.DateTimeField()
    status = models.CharField(max_length=10, choices=AlertStatus.choices, default=AlertStatus.DRAFT)
    # Grows with every published change (publish, correct, withdraw): each delivery is once per version.
    version = models.PositiveIntegerField(default=0)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.CharField(max_length=500, blank=True)
    declined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decline_reason = models.CharField(max_length=500, blank=True)
    submitted_by_partner = models.ForeignKey(
        PartnerOrganisation, on_delete=models.PROTECT, null=True, blank=True, related_name="drug_alerts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DrugAlertQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The banner: a clinic's live alerts (alerts.selectors.unacknowledged_alerts).
            models.Index(fields=["clinic", "valid_until"], condition=Q(status="published"), name="drug_alert_live_idx"),
            # The partner feed, paged by (updated_at, pk) (alerts.selectors.partner_feed).
            models.Index(fields=["clinic", "updated_at", "id"], name="drug_alert_feed_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(substance=""),
                name="drug_alert_has_substance",
                violation_error_message="Name the substance.",
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="published_drug_alert_has_published_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="withdrawn") | Q(withdrawn_at__isnull=False),
                name="withdrawn_drug_alert_has_withdrawn_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | ~Q(decline_reason=""),
                name="declined_drug_alert_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_severity_display()}: {self.substance}"

    def is_expired(self, *, now) -> bool:
        return self.valid_until <= now

    def feed_status(self, *, now) -> str:
        """What a partner sees: published, withdrawn or expired."""
        if self.status == AlertStatus.PUBLISHED and self.is_expired(now=now):
            return "expired"
        return self.status


class AlertAcknowledgement(models.Model):
    """A member of staff has read a version of the alert: its banner no longer shows to them until corrected."""

    alert = models.ForeignKey(DrugAlert, on_delete=models.CASCADE, related_name="acknowledgements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # A correction may change the advice: staff who read the first version must read the new one.
    version = models.PositiveIntegerField(default=1, help_text="The version of the alert that was read.")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "user", "version"], name="one_acknowledgement_per_alert_version_and_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} read {self.alert} at {self.at:%Y-%m-%d %H:%M}"
