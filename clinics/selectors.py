"""Reads about clinics and staff. Every clinic-scoped query in the project starts from `clinics_for`."""

from django.db.models import QuerySet

from .models import Clinic, User
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
