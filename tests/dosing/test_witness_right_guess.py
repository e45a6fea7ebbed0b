"""S9's lockout on every path that takes a right witness PIN and writes in a transaction of its own.

A dose and a correction settle a right PIN as the first statement of their own transaction (one commit per
dose, clinics.services.witness_secret_guess). The guarantee to hold: a right PIN is answered only after it
has queued behind every wrong one, so in a burst that locks the witness the right PIN is refused as locked,
and no other refusal (S5, a witness of another clinic) tells the guesser that it was right. The burst is
played out in order: the witness's row is read for the request, then wrong guesses lock the witness, then
the right PIN arrives with the row as it was read.
"""

import datetime
from decimal import Decimal

import pytest
import time_machine

from clinics.models import User
from clinics.services import WitnessLocked, witness_secret_is_correct
from dosing import services
from dosing.models import Administration
from tests.factories.clinics import PASSWORD

from .conftest import MORNING, check, check_and_dose, dose

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False):
        yield


def _locked_since_read(witness, settings) -> User:
    """The witness's row as a request read it, then locked by wrong guesses from elsewhere."""
    as_read = User.objects.get(pk=witness.pk)
    for _ in range(settings.WITNESS_PIN_MAX_FAILURES):
        witness_secret_is_correct(witness=User.objects.get(pk=witness.pk), secret="not the pin")
    assert User.objects.get(pk=witness.pk).witness_pin_locked_until is not None
    return as_read


def test_a_right_pin_on_a_dose_is_refused_when_the_witness_was_locked_since_the_row_was_read(
    slot, nurse, second_nurse, settings
):
    check(slot, nurse)
    as_read = _locked_since_read(second_nurse, settings)

    with pytest.raises(WitnessLocked, match="locked until"):
        dose(slot, nurse, as_read)

    assert not Administration.objects.exists()


def test_a_right_pin_on_a_dose_another_rule_refuses_is_still_answered_as_locked(slot, nurse, second_nurse, settings):
    """No pre-dose check (S5): the refusal would say so only to a guesser whose PIN was right."""
    as_read = _locked_since_read(second_nurse, settings)

    with pytest.raises(WitnessLocked, match="locked until"):
        dose(slot, nurse, as_read)


def test_a_right_pin_of_a_witness_who_may_not_witness_here_is_answered_as_locked(slot, nurse, other_nurse, settings):
    """A nurse of another clinic: refused on S9 either way, but a wrong PIN earns a second sentence."""
    check(slot, nurse)
    as_read = _locked_since_read(other_nurse, settings)

    with pytest.raises(WitnessLocked, match="locked until"):
        dose(slot, nurse, as_read)


def test_a_right_pin_on_a_correction_is_refused_when_the_witness_was_locked_since_the_row_was_read(
    slot, nurse, second_nurse, prescriber, settings
):
    given = check_and_dose(slot, nurse, second_nurse)
    as_read = _locked_since_read(second_nurse, settings)

    with pytest.raises(WitnessLocked, match="locked until"):
        services.correct_administration(
            administration=given, author=nurse, reason="Wrong amount written", dose_mg=Decimal("90"), route="iv",
            injection_site="left_arm", given_at=given.given_at, witness=as_read, witness_password=PASSWORD,
        )  # fmt: skip

    assert Administration.objects.count() == 1


def test_a_right_pin_on_the_dose_form_confirmation_is_refused_when_the_witness_was_locked_since(
    slot, nurse, second_nurse, settings
):
    check(slot, nurse)
    as_read = _locked_since_read(second_nurse, settings)

    with pytest.raises(WitnessLocked, match="locked until"):
        services.confirm_witness(
            slot=slot, nurse=nurse, witness=as_read, witness_password=PASSWORD, dose_mg=Decimal("100")
        )


def test_a_dose_with_the_right_pin_clears_the_wrong_tries_before_it(slot, nurse, second_nurse, settings):
    for _ in range(settings.WITNESS_PIN_MAX_FAILURES - 1):
        witness_secret_is_correct(witness=User.objects.get(pk=second_nurse.pk), secret="not the pin")

    check_and_dose(slot, nurse, User.objects.get(pk=second_nurse.pk))

    assert User.objects.get(pk=second_nurse.pk).witness_pin_failures == 0


@pytest.mark.django_db(transaction=True)
def test_a_right_pin_waits_for_a_wrong_guess_in_flight_and_is_refused_when_it_locked_the_witness(
    slot, nurse, second_nurse, settings
):
    """The wrong guess that reaches the limit is still being written (its UPDATE holds the witness's row) when the
    dose with the right PIN starts: the dose waits for it, then finds the witness locked. A plain read would see
    the row as it was before the guess and record the dose."""
    import threading

    from django.db import connection, transaction

    from clinics.services import _SETTLE_GUESS_SQL

    check(slot, nurse)
    for _ in range(settings.WITNESS_PIN_MAX_FAILURES - 1):
        witness_secret_is_correct(witness=User.objects.get(pk=second_nurse.pk), secret="not the pin")
    as_read = User.objects.get(pk=second_nurse.pk)
    as_read.witness_pin_failures = 0  # as if read before those tries: the dose settles inside its transaction
    updated, release, outcome = threading.Event(), threading.Event(), []

    def last_wrong_guess():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                until = MORNING + datetime.timedelta(minutes=settings.WITNESS_PIN_LOCKOUT_MINUTES)
                cursor.execute(_SETTLE_GUESS_SQL, {"correct": False, "now": MORNING, "until": until,
                                                   "limit": settings.WITNESS_PIN_MAX_FAILURES,
                                                   "witness": second_nurse.pk})  # fmt: skip
                updated.set()
                release.wait(10)
        finally:
            connection.close()

    def the_dose():
        try:
            outcome.append(dose(slot, nurse, as_read))
        except Exception as refusal:
            outcome.append(refusal)
        finally:
            connection.close()

    guesser = threading.Thread(target=last_wrong_guess)
    guesser.start()
    assert updated.wait(10)
    doser = threading.Thread(target=the_dose)
    doser.start()
    doser.join(1)
    assert doser.is_alive(), "the dose waits for the guess in flight"
    release.set()
    guesser.join(10)
    doser.join(10)

    assert isinstance(outcome[0], WitnessLocked), outcome
    assert not Administration.objects.exists()
