import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models

from .roles import Capability


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (for example Europe/London).")


class Clinic(models.Model):
    """A site where patients are dosed. Everything a member of staff sees is scoped to their clinics."""

    name = models.CharField(max_length=120, unique=True)
    code = models.SlugField(max_length=20, unique=True, help_text="Short site code, e.g. 'mbro'.")
    time_zone = models.CharField(max_length=64, default="Europe/London", validators=[validate_time_zone])
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        # Capabilities that the role groups grant; see clinics/roles.py.
        permissions = [(capability.value, capability.label) for capability in Capability]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class User(AbstractUser):
    """A member of staff (or a system administrator). Partners are API clients, not users."""

    clinics = models.ManyToManyField(Clinic, related_name="staff", blank=True)

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username
