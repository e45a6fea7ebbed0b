"""Writes about clinics and staff, as keyword-only functions."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from .models import Clinic, User
from .roles import Role
from .security import record_witness_pin_locked


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


PIN_HASHER = "pin_hmac_pbkdf2_sha256"  # clinics/hashers.py


def witness_pin_set(*, user: User, pin: str) -> None:
    """Set the PIN this member of staff confirms witnessing with: 6 to 12 digits."""
    if not (pin.isdigit() and 6 <= len(pin) <= 12):
        raise ValidationError({"pin": "PIN: use 6 to 12 digits."})
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise ValidationError({"pin": "PIN: too easy to guess; avoid repeated or consecutive digits."})
    user.witness_pin = make_password(pin, hasher=PIN_HASHER)
    user.save(update_fields=["witness_pin"])


def _pin_setter(user: User):
    """Store a PIN again with the current hasher once it has been typed right (a PIN set before the keyed hash)."""

    def store(pin: str) -> None:
        user.witness_pin = make_password(pin, hasher=PIN_HASHER)
        User.objects.filter(pk=user.pk).update(witness_pin=user.witness_pin)

    return store


class WitnessLocked(ValidationError):
    """The witness's PIN is locked after too many wrong tries: no guess is checked until `until`."""

    def __init__(self, until: datetime):
        self.until = until
        super().__init__(
            {
                "witness_password": (
                    f"Witness PIN: locked until {timezone.localtime(until):%H:%M} after too many wrong tries. "
                    "Ask another colleague to witness; the clinic manager has been told."
                )
            }
        )


# One statement settles a guess under the row's lock: a wrong guess is counted (the one reaching the limit
# locks), a right one clears the count. A concurrent UPDATE of the same row waits, then re-reads the row and
# its WHERE (READ COMMITTED), so guesses queue as under SELECT ... FOR UPDATE, and no guess is answered while
# the witness is locked: however many arrive at once, at most WITNESS_PIN_MAX_FAILURES wrong ones are answered
# in a lockout window. One round trip and one commit per dose (it was two: count first, clear after).
_SETTLE_GUESS_SQL = """
UPDATE "clinics_user" SET
    "witness_pin_failures" = CASE WHEN %(correct)s THEN 0
                                  WHEN "witness_pin_locked_until" <= %(now)s THEN 1
                                  ELSE "witness_pin_failures" + 1 END,
    "witness_pin_locked_until" = CASE WHEN %(correct)s THEN NULL
                                      WHEN (CASE WHEN "witness_pin_locked_until" <= %(now)s THEN 1
                                                 ELSE "witness_pin_failures" + 1 END) >= %(limit)s THEN %(until)s END
WHERE "id" = %(witness)s AND ("witness_pin_locked_until" IS NULL OR "witness_pin_locked_until" <= %(now)s)
RETURNING "witness_pin_failures"
"""


def _settle_guess(*, witness: User, correct: bool, now: datetime) -> int | None:
    """Clear the count after a right guess, count a wrong one; None when the witness is locked (nothing counted).

    The guess's answer is this statement's: a right PIN typed while the witness is locked is refused as
    locked, exactly as a wrong one, so a guess checked in a burst past the limit tells the guesser nothing.
    A lock whose time is over counts as no guess before this one.
    """
    until = now + timedelta(minutes=settings.WITNESS_PIN_LOCKOUT_MINUTES)
    moment = connection.ops.adapt_datetimefield_value  # as the ORM would store them (SQLite: UTC text)
    params = {"now": moment(now), "until": moment(until), "limit": settings.WITNESS_PIN_MAX_FAILURES}
    with connection.cursor() as cursor:
        cursor.execute(_SETTLE_GUESS_SQL, {**params, "correct": correct, "witness": witness.pk})
        row = cursor.fetchone()
    return row[0] if row else None


def witness_secret_is_correct(*, witness: User, secret: str, now: datetime | None = None) -> bool:
    """S9: the witness confirms with their own PIN (or, if they have none, their password).

    Every guess is settled under the witness's row lock (see `_settle_guess`); after WITNESS_PIN_MAX_FAILURES
    wrong tries the witness is locked for WITNESS_PIN_LOCKOUT_MINUTES: `WitnessLocked` (a ValidationError
    naming `witness_password` and the time) whatever was typed, and the managers of the witness's clinics
    see it on their home page. Call it outside a transaction: a rollback would forget the counted guess
    (every caller checks the witness before taking its locks).
    """
    guess = witness_secret_guess(witness=witness, secret=secret, now=now)
    if guess is None:
        return False
    guess.settle()
    return True


# A right guess inside the caller's transaction: a share lock on the witness's row. It waits for every wrong guess
# in flight (their UPDATE locks the row), then reads the row as they left it; doses witnessed by the same person at
# the same moment share it rather than queue, and a wrong guess arriving meanwhile waits for them (issue 13).
_RIGHT_GUESS_SQL = 'SELECT "witness_pin_locked_until" FROM "clinics_user" WHERE "id" = %s FOR SHARE'


@dataclass(frozen=True)
class RightGuess:
    """A right PIN that is not yet answered: `settle()` first in the caller's own transaction (see
    `witness_secret_guess`). Until then it has answered nothing: a burst of guesses may lock the witness."""

    witness: User
    now: datetime
    settled: bool = False  # answered already, under the row lock (it had a count to clear)

    def settle(self) -> None:
        """Refused as locked (`WitnessLocked`) when wrong guesses locked the witness since the row was read; else
        the row stays share-locked until the caller's transaction ends."""
        if self.settled:
            return
        if connection.vendor != "postgresql":  # SQLite (the quick start) writes one transaction at a time
            until = User.objects.values_list("witness_pin_locked_until", flat=True).get(pk=self.witness.pk)
        else:
            with connection.cursor() as cursor:
                cursor.execute(_RIGHT_GUESS_SQL, [self.witness.pk])
                until = cursor.fetchone()[0]
        if until is not None and until > self.now:
            raise WitnessLocked(until)


def witness_secret_guess(*, witness: User, secret: str, now: datetime | None = None) -> RightGuess | None:
    """`witness_secret_is_correct` for a caller that writes in a transaction of its own (every dose): a wrong
    guess is counted at once, outside any transaction, and answers None; a right one answers a `RightGuess`
    that the caller settles as the FIRST statement of its transaction, before anything that could refuse.

    One commit per dose instead of two (the guess's own and the dose's), and the same guarantee: the right
    guess is answered only once it has queued behind every wrong guess under the witness's row lock, so a
    right PIN in a burst past the limit is refused as locked. Settled first, nothing else the caller refuses
    can tell a guesser that the PIN was right while the witness is locked. A right PIN whose row, as read,
    had wrong tries to clear (or a lock whose time is over) is settled at once, as `witness_secret_is_correct`
    settles it; one that finds wrong tries made since leaves them counted (the safe side).
    """
    if not secret or not witness.is_active:
        return None
    now = now or timezone.now()
    locked_until = witness.witness_pin_locked_until
    if locked_until is not None and locked_until > now:
        # Known locked (the row was read for this request): no hash is worked out, which for a witness without
        # a PIN is a password's, ~250 ms a guess. Whatever the row says now, the settling decides.
        raise WitnessLocked(locked_until)
    if witness.witness_pin:
        correct = check_password(secret, witness.witness_pin, setter=_pin_setter(witness), preferred=PIN_HASHER)
    else:
        correct = witness.check_password(secret)
    if correct:
        if witness.witness_pin_failures or witness.witness_pin_locked_until is not None:
            if _settle_guess(witness=witness, correct=True, now=now) is None:
                until = User.objects.values_list("witness_pin_locked_until", flat=True).get(pk=witness.pk)
                raise WitnessLocked(until or now)
            return RightGuess(witness=witness, now=now, settled=True)
        return RightGuess(witness=witness, now=now)
    failures = _settle_guess(witness=witness, correct=False, now=now)
    if failures is None:
        until = User.objects.values_list("witness_pin_locked_until", flat=True).get(pk=witness.pk)
        raise WitnessLocked(until or now)
    if failures == settings.WITNESS_PIN_MAX_FAILURES:
        until = User.objects.values_list("witness_pin_locked_until", flat=True).get(pk=witness.pk)
        if until is not None:  # still locked (a right PIN at the same moment would have lifted it)
            record_witness_pin_locked(witness=witness, until=until, now=now)
    return None


def remember_clinic(*, user, clinic) -> None:
    """The clinic a member of staff switched to is where they land next time they sign in."""
    if user.last_clinic_id != clinic.pk:
        User.objects.filter(pk=user.pk).update(last_clinic=clinic)
        user.last_clinic = clinic
