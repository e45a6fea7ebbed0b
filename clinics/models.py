import zoneinfo
from datetime import date
from functools import cache

import holidays
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models

from .roles import Capability


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (for example Europe/London).")


@cache
def _bank_holidays_of(nation: str) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv=nation)  # fills in each year when first asked about it


class BankHolidays(models.TextChoices):
    """Whose bank holidays are not working days (they differ between the UK's nations)."""

    ENGLAND = "ENG", "England"
    WALES = "WLS", "Wales"
    SCOTLAND = "SCT", "Scotland"
    NORTHERN_IRELAND = "NIR", "Northern Ireland"
    NONE = "", "None (weekends only)"


class Clinic(models.Model):
    """A site where patients are dosed. Everything a member of staff sees is scoped to their clinics."""

    name = models.CharField(max_length=120, unique=True)
    code = models.SlugField(max_length=20, unique=True, help_text="Short site code, e.g. 'mbro'.")
    time_zone = models.CharField(max_length=64, default="Europe/London", validators=[validate_time_zone])
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    bank_holidays = models.CharField(
        max_length=3,
        choices=BankHolidays.choices,
        default=BankHolidays.ENGLAND,
        blank=True,
        help_text="Not working days for partners' reminders.",
    )
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

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday, and not one of the clinic's bank holidays."""
        if day.weekday() >= 5:
            return False
        return not self.bank_holidays or day not in _bank_holidays_of(self.bank_holidays)


class User(AbstractUser):
    """A member of staff (or a system administrator). Partners are API clients, not users."""

    clinics = models.ManyToManyField(Clinic, related_name="staff", blank=True)
    # Hashed with clinics.hashers.WitnessPinHasher; set by the user on their PIN page.
    witness_pin = models.CharField(max_length=128, blank=True)
    # The witness lockout (clinics.security.witness_secret_is_correct): guesses counted under a row lock.
    witness_pin_failures = models.PositiveSmallIntegerField(default=0)
    witness_pin_locked_until = models.DateTimeField(null=True, blank=True)
    # Staff of several clinics land on the clinic they last worked in (the header's switcher sets it).
    last_clinic = models.ForeignKey(Clinic, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class IdempotencyKey(models.Model):
    """An API POST's `Idempotency-Key` and the first answer to it, replayed on a retry (clinics/idempotency.py).

    Keys are scoped per caller (a partner client, a member of staff): two callers may use the
    same key without meeting. Kept for IDEMPOTENCY_KEY_TTL, then forgotten.
    """

    scope = models.CharField(max_length=120, help_text='Whose key: "partner-client:<client id>" or "user:<id>".')
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and request body.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key"],
                name="unique_idempotency_key_per_scope",
                violation_error_message="This Idempotency-Key was already used.",
            ),
        ]
        # Serves the purge of expired keys: WHERE expires_at < now.
        indexes = [models.Index(fields=["expires_at"], name="idempotency_key_expiry")]

    def __str__(self) -> str:
        return f"Idempotency key {self.pk}"


class SecurityEvent(models.Model):
    """An audited security action or alarm about one member of staff (append-only).

    Resets and unlocks record who did it (`actor`); a witness PIN lockout has no actor and is
    shown to the managers of the clinic on their home page.
    """

    class Kind(models.TextChoices):
        TWO_FACTOR_RESET = "two_factor_reset", "Two-factor sign-in reset"
        SIGN_IN_UNLOCKED = "sign_in_unlocked", "Sign-in lock lifted"
        WITNESS_PIN_LOCKED = "witness_pin_locked", "Witness PIN locked after wrong tries"
        WITNESS_PIN_UNLOCKED = "witness_pin_unlocked", "Witness PIN lock lifted"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    subject = models.ForeignKey(User, on_delete=models.PROTECT, related_name="security_events")
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField()
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        # Serves the managers' list: WHERE clinic_id = ... ORDER BY at DESC.
        indexes = [models.Index(fields=["clinic", "-at"], name="security_event_clinic_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject} at {self.at:%Y-%m-%d %H:%M}"
