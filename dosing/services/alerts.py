"""Alerts to prescribers (S7 holds, S12 adverse events): in the app at once, by email through the outbox.

The prescriber is the one who signed the prescription, or every prescriber of the clinic when
that one can no longer act there. The recipient marks an alert as read.
"""

import logging
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction

from clinics.access import has_capability, may_act
from clinics.models import Clinic
from clinics.roles import Capability
from deliveries.services import enqueue

from ..models import Alert, Prescription
from ._common import _now

logger = logging.getLogger(__name__)


def _prescribers_to_alert(prescription: Prescription, clinic: Clinic) -> list:
    """The prescriber who signed the prescription, or every prescriber of the clinic if they cannot act."""
    if may_act(prescription.prescriber, Capability.PRESCRIBE, clinic=clinic):
        return [prescription.prescriber]
    return [
        user
        for user in clinic.staff.filter(is_active=True).prefetch_related("groups")
        if has_capability(user, Capability.PRESCRIBE)
    ]


def _alert(*, clinic: Clinic, recipients, kind: str, message: str, now: datetime, **links) -> list[Alert]:
    # The email is an outbox row written with the alert: an overdose recorded while Redis or the
    # worker is down still reaches the prescriber, once, when they return (a task queued after
    # commit was lost with the broker).
    with transaction.atomic():
        alerts = [
            Alert.objects.create(clinic=clinic, recipient=user, kind=kind, message=message, created_at=now, **links)
            for user in recipients
        ]
        for alert in alerts:
            _email_alert(alert, now=now)
    return alerts


def _email_alert(alert: Alert, *, now: datetime) -> None:
    """The email names no patient: it only says that something needs the recipient's attention in the app."""
    if not alert.recipient.email:
        logger.warning("alert %s: recipient %s has no email address", alert.pk, alert.recipient_id)
        return
    kind = alert.get_kind_display().lower()
    enqueue(
        kind=f"dosing.alert.{alert.kind}",
        clinic=alert.clinic,
        subject=f"HAT Clinic: {kind} at {alert.clinic.name}",
        body=(
            f"A {kind} was recorded at {alert.clinic.name} and needs your review.\n"
            f"Sign in to HAT Clinic to see the details (alert reference {alert.pk}).\n"
        ),
        recipient_email=alert.recipient.email,
        dedupe_key=f"dosing-alert:{alert.pk}",
        now=now,
    )


def alert_mark_read(*, alert: Alert, user, now: datetime | None = None) -> Alert:
    """The recipient has seen the alert. A conditional update: idempotent, never moves `read_at`."""
    if alert.recipient_id != user.pk:
        raise PermissionDenied("Only the recipient can mark an alert as read.")
    now = _now(now)
    Alert.objects.filter(pk=alert.pk, read_at__isnull=True).update(read_at=now)
    alert.refresh_from_db(fields=["read_at"])
    return alert
