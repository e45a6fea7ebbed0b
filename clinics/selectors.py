"""Reads about clinics and staff. Every clinic-scoped query in the project starts from `clinics_for`."""

from datetime import datetime

from axes.models import AccessAttempt
from django.db.models import QuerySet
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from hat_clinic.precompiled import STAND_IN_ID, Precompiled

from .models import Clinic, SecurityEvent, User
from .roles import Role


def clinics_for(user) -> QuerySet[Clinic]:
    """The clinics this user may see: their own active clinics (all of them for a system administrator)."""
    if not user.is_authenticated:
        return Clinic.objects.none()
    if user.is_superuser:
        return Clinic.objects.filter(is_active=True)
    return user.clinics.filter(is_active=True)


def clinic_list(user) -> list[Clinic]:
    """`clinics_for(user)` as a list, cached on the user object for the request (one query a request)."""
    if not user.is_authenticated:
        return []
    cached = getattr(user, "_hat_clinics", None)
    if cached is None:
        cached = user._hat_clinics = list(clinics_for(user))
    return cached


def _user(*, user_id):
    return User.objects.filter(pk=user_id)


_USER = Precompiled(_user, user_id=STAND_IN_ID)  # the witness of every dose: precompiled (issue 13)


def user_by_id(user_id: int) -> User | None:
    """Anyone's user row by id, None when no one has it. The caller decides what they may do where."""
    return _USER.first(user_id=user_id)


def works_at(user, clinic: Clinic) -> bool:
    """True when `clinic` is one of the user's clinics (no query once `clinic_list` has run)."""
    return any(mine.pk == clinic.pk for mine in clinic_list(user))


def roles_of(user) -> set[Role]:
    """The staff roles a user holds, cached on the user object for the request."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_hat_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = {role for role in Role if role.value in names}
        user._hat_roles = cached
    return cached


def staff_of_clinic(clinic: Clinic) -> QuerySet[User]:
    return clinic.staff.filter(is_active=True).prefetch_related("groups").order_by("last_name", "first_name")


def staff_security(clinic: Clinic, *, failure_limit: int, since: datetime, now: datetime) -> list[dict]:
    """For the manager's page: each member of staff with their two-factor set-up and any lock now."""
    staff = list(staff_of_clinic(clinic))
    ids = [member.pk for member in staff]
    with_app = set(TOTPDevice.objects.filter(user__in=ids, confirmed=True).values_list("user_id", flat=True))
    with_codes = set(
        StaticDevice.objects.filter(user__in=ids, token_set__isnull=False).values_list("user_id", flat=True)
    )
    paused = set(
        AccessAttempt.objects.filter(
            username__in=[member.username for member in staff],
            failures_since_start__gte=failure_limit,
            attempt_time__gte=since,
        ).values_list("username", flat=True)
    )
    return [
        {
            "member": member,
            "has_app": member.pk in with_app,
            "has_codes": member.pk in with_codes,
            "sign_in_paused": member.username in paused,
            "pin_locked_until": member.witness_pin_locked_until
            if member.witness_pin_locked_until and member.witness_pin_locked_until > now
            else None,
        }
        for member in staff
    ]


def security_events_for(clinic: Clinic, *, limit: int = 20) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(clinic=clinic).select_related("subject", "actor")[:limit]
