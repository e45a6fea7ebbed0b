"""The outbox: reminders and alerts as rows, written in the transaction of the change that causes them.

A beat task claims due rows with a conditional update and hands them to workers; a worker
claims its row again before sending, so a row is sent by one worker only; every attempt is
logged. See services.py for the life of a message and docs/webhooks.md for the signatures.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinics.models import Clinic
from partners.models import PartnerOrganisation


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class OutboxMessage(models.Model):
    # The Standard Webhooks message id (`webhook-id`): the same on every retry, so a receiver
    # can recognise a message it already has. Opaque: it names nothing.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=64, help_text='What happened, e.g. "referral.not_acknowledged".')
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    subject = models.CharField(max_length=200)
    body = models.TextField(help_text="The email text.")
    payload = models.JSONField(default=dict, blank=True, help_text="The webhook's `data`.")
    recipient_email = models.EmailField(blank=True)
    webhook_url = models.URLField(blank=True)
    # The partner whose webhook secret signs the message (read when sending, so a rotation applies).
    partner = models.ForeignKey(
        PartnerOrganisation, on_delete=models.PROTECT, null=True, blank=True, related_name="outbox_messages"
    )
    # At most one message per dedupe key unless cancelled: "the day-2 reminder for referral 7"
    # is written once, however often the job that writes it runs.
    dedupe_key = models.CharField(max_length=200, blank=True)
    # Messages about one thing (e.g. "referral:7"), so a service can cancel them when it closes.
    cancel_key = models.CharField(max_length=200, blank=True, db_index=True)

    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Per channel, so a retry after "email went, webhook failed" sends only the webhook.
    email_sent_at = models.DateTimeField(null=True, blank=True)
    webhook_sent_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    last_error = models.TextField(blank=True)
    resent_at = models.DateTimeField(null=True, blank=True)
    resent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # Serves the dispatcher: status='pending' AND next_attempt_at <= now ORDER BY next_attempt_at.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="outbox_due_pending_idx"),
            # Serves stale-claim recovery: status='sending' AND claimed_at < now - N minutes.
            models.Index(fields=["claimed_at"], condition=Q(status="sending"), name="outbox_sending_claimed_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=~Q(dedupe_key="") & ~Q(status="cancelled"),
                name="unique_outbox_dedupe_key",
                violation_error_message="A message with this dedupe key already exists.",
            ),
            models.CheckConstraint(
                condition=~Q(recipient_email="", webhook_url=""),
                name="outbox_message_has_a_channel",
                violation_error_message="A message needs an email recipient, a webhook address or both.",
            ),
            models.CheckConstraint(
                condition=Q(webhook_url="") | Q(partner__isnull=False),
                name="outbox_webhook_has_a_partner",
                violation_error_message="A webhook needs the partner whose secret signs it.",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | (~Q(claimed_by="") & Q(claimed_at__isnull=False)),
                name="outbox_sending_is_claimed",
                violation_error_message="A message being sent must name the claim that sends it.",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="outbox_sent_has_sent_at",
                violation_error_message="A sent message needs the time it was sent.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} message {self.pk} ({self.status})"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.uuid.hex}"

    @property
    def channels(self) -> list[str]:
        channels = []
        if self.recipient_email:
            channels.append(Channel.EMAIL)
        if self.webhook_url:
            channels.append(Channel.WEBHOOK)
        return channels


class DeliveryAttempt(models.Model):
    """One try to deliver a message by one channel, with its result. Append-only: never changed."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.PROTECT, related_name="delivery_attempts")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(help_text="Measured with a monotonic clock.")
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The webhook's HTTP status.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "pk"]

    def __str__(self) -> str:
        return f"{self.channel} attempt for message {self.message_id}: {'ok' if self.ok else 'failed'}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Delivery attempts are a log: add a new one, never change one.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Delivery attempts are a log: they are never deleted.")
