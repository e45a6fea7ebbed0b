"""Writes about clinics and staff, as keyword-only functions."""

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.db import transaction

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
