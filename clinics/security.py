"""Audited security actions on staff accounts: resets, unlocks, and the witness PIN alarm.

A clinic manager acts for the staff of their own clinic; a system administrator for anyone.
Every action writes a SecurityEvent (who did what to whom, when) in the same transaction.
"""

from datetime import datetime

from axes.utils import reset as axes_reset
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user

from .models import Clinic, SecurityEvent, User
from .roles import Capability
from .selectors import works_at


def _require_may_act_for(*, actor: User, subject: User, clinic: Clinic | None, doing: str) -> None:
    if actor.is_superuser:
        return
    if subject.pk == actor.pk:
        raise PermissionDenied(f"You cannot {doing} for yourself: ask another clinic manager or an administrator.")
    if subject.is_superuser or subject.is_staff:
        raise PermissionDenied(f"Only a system administrator can {doing} for an administrator.")
    if (
        clinic is None
        or not actor.is_active
        or not actor.has_perm(Capability.MANAGE_CLINIC.perm)
        or not works_at(actor, clinic)
        or not subject.clinics.filter(pk=clinic.pk).exists()
    ):
        raise PermissionDenied(f"Only a manager of this member of staff's clinic can {doing}.")


@transaction.atomic
def two_factor_reset(
    *, actor: User, subject: User, clinic: Clinic | None, now: datetime | None = None
) -> SecurityEvent:
    """A lost phone: remove the subject's authenticator and recovery codes; they enrol again at next sign-in.

    Their signed-in sessions lose the second factor with the device (django-otp checks it on each request).
    """
    _require_may_act_for(actor=actor, subject=subject, clinic=clinic, doing="reset two-factor sign-in")
    for device in devices_for_user(subject, confirmed=None):
        device.delete()
    return SecurityEvent.objects.create(
        kind=SecurityEvent.Kind.TWO_FACTOR_RESET, subject=subject, actor=actor, clinic=clinic, at=now or timezone.now()
    )


@transaction.atomic
def sign_in_unlock(*, actor: User, subject: User, clinic: Clinic | None, now: datetime | None = None) -> SecurityEvent:
    """Lift the sign-in pause of this username from every address (django-axes forgets its failures)."""
    _require_may_act_for(actor=actor, subject=subject, clinic=clinic, doing="lift a sign-in pause")
    axes_reset(username=subject.get_username())
    return SecurityEvent.objects.create(
        kind=SecurityEvent.Kind.SIGN_IN_UNLOCKED, subject=subject, actor=actor, clinic=clinic, at=now or timezone.now()
    )


@transaction.atomic
def witness_pin_unlock(
    *, actor: User, subject: User, clinic: Clinic | None, now: datetime | None = None
) -> SecurityEvent:
    _require_may_act_for(actor=actor, subject=subject, clinic=clinic, doing="lift a witness PIN lock")
    User.objects.filter(pk=subject.pk).update(witness_pin_failures=0, witness_pin_locked_until=None)
    return SecurityEvent.objects.create(
        kind=SecurityEvent.Kind.WITNESS_PIN_UNLOCKED,
        subject=subject,
        actor=actor,
        clinic=clinic,
        at=now or timezone.now(),
    )


def record_witness_pin_locked(*, witness: User, until: datetime, now: datetime) -> None:
    """Tell the managers of each of the witness's clinics (a row on their home page)."""
    SecurityEvent.objects.bulk_create(
        SecurityEvent(
            kind=SecurityEvent.Kind.WITNESS_PIN_LOCKED,
            subject=witness,
            clinic=clinic,
            at=now,
            detail=f"locked until {timezone.localtime(until, clinic.zone):%H:%M}",
        )
        for clinic in witness.clinics.filter(is_active=True)
    )
