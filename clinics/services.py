"""Writes about clinics and staff, as keyword-only functions."""

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Clinic, User
from .roles import Role


def clinic_upsert(
    *, code: str, name: str, time_zone: str = "Europe/London", address: str = "", phone: str = ""
) -> Clinic:
    """Create the clinic with this site code, or update it; validated before anything is saved."""
    clinic = Clinic.objects.filter(code=code).first() or Clinic(code=code)
    clinic.name, clinic.time_zone, clinic.address, clinic.phone = name, time_zone, address, phone
    clinic.full_clean()
    clinic.save()
    return clinic


@transaction.atomic
def staff_upsert(
    *,
    username: str,
    first_name: str,
    last_name: str,
    roles: Iterable[Role],
    clinics: Iterable[Clinic],
    password: str,
    email: str = "",
) -> User:
    """Create or update a member of staff with exactly these roles and clinics."""
    user, _ = User.objects.get_or_create(username=username)
    user.first_name, user.last_name, user.email = first_name, last_name, email
    user.is_active = True
    user.set_password(password)
    user.save()
    user.groups.set(Group.objects.filter(name__in=[Role(role).value for role in roles]))
    user.clinics.set(clinics)
    return user


def totp_device_for_setup(*, user) -> TOTPDevice:
    """The user's unconfirmed authenticator device, created on first use (one at a time)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, user, token: str) -> TOTPDevice | None:
    """Confirm the pending device with a code from the app; None when the code is wrong."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token(token):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device


def totp_verify(*, user, token: str) -> TOTPDevice | None:
    """The confirmed device that accepts this code (throttled by django-otp after failures), else None."""
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if device.verify_is_allowed()[0] and device.verify_token(token):
            return device
    return None


PIN_HASHER = "pbkdf2_sha256_pin"


def witness_pin_set(*, user: User, pin: str) -> None:
    """Set the PIN this member of staff confirms witnessing with: 6 to 12 digits."""
    if not (pin.isdigit() and 6 <= len(pin) <= 12):
        raise ValidationError({"pin": "PIN: use 6 to 12 digits."})
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise ValidationError({"pin": "PIN: too easy to guess; avoid repeated or consecutive digits."})
    user.witness_pin = make_password(pin, hasher=PIN_HASHER)
    user.save(update_fields=["witness_pin"])


def _failures_key(user: User) -> str:
    return f"witness-failures:{user.pk}"


def witness_secret_is_correct(*, witness: User, secret: str) -> bool:
    """S9: the witness confirms with their own PIN (or, if they have none, their password).

    After WITNESS_PIN_MAX_FAILURES wrong tries the witness is refused for WITNESS_PIN_LOCKOUT_MINUTES,
    so a short PIN cannot be guessed at the hatch.
    """
    if not secret or not witness.is_active:
        return False
    key = _failures_key(witness)
    if cache.get(key, 0) >= settings.WITNESS_PIN_MAX_FAILURES:
        return False
    if witness.witness_pin:
        correct = check_password(secret, witness.witness_pin, preferred=PIN_HASHER)
    else:
        correct = witness.check_password(secret)
    if correct:
        cache.delete(key)
        return True
    cache.add(key, 0, timeout=settings.WITNESS_PIN_LOCKOUT_MINUTES * 60)
    cache.incr(key)
    return False
