"""Alerts to prescribers (S7 holds, S12 adverse events): in the app at once, by email after commit.

The prescriber is the one who signed the prescription, or every prescriber of the clinic when
that one can no longer act there. The recipient marks an alert as read.
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied

from clinics.access import has_capability, may_act
from clinics.models import Clinic
from clinics.roles import Capability

from .. import tasks
from ..models import Alert, Prescription
from ._common import _now


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
    alerts = [
        Alert.objects.create(clinic=clinic, recipient=user, kind=kind, message=message, created_at=now, **links)
        for user in recipients
    ]
    for alert in alerts:
        tasks.send_alert_email.delay_on_commit(alert.pk)
    return alerts


def alert_mark_read(*, alert: Alert, user, now: datetime | None = None) -> Alert:
    """The recipient has seen the alert. A conditional update: idempotent, never moves `read_at`."""
    if alert.recipient_id != user.pk:
        raise PermissionDenied("Only the recipient can mark an alert as read.")
    now = _now(now)
    Alert.objects.filter(pk=alert.pk, read_at__isnull=True).update(read_at=now)
    alert.refresh_from_db(fields=["read_at"])
    return alert
