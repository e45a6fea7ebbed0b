"""S9: a witness confirms with their own PIN (or password); guessing is locked out."""

import pytest
from django.urls import reverse

from clinics.services import witness_pin_set, witness_secret_is_correct
from tests.factories.clinics import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_witness_without_a_pin_confirms_with_their_password(second_nurse):
    assert witness_secret_is_correct(witness=second_nurse, secret=PASSWORD)
    assert not witness_secret_is_correct(witness=second_nurse, secret="wrong")


def test_once_a_pin_is_set_the_pin_confirms(second_nurse):
    witness_pin_set(user=second_nurse, pin="482916")
    second_nurse.refresh_from_db()

    assert witness_secret_is_correct(witness=second_nurse, secret="482916")
    assert not witness_secret_is_correct(witness=second_nurse, secret="482917")
    assert second_nurse.witness_pin.startswith("pin_hmac_pbkdf2_sha256$")


def test_a_copy_of_the_database_alone_cannot_search_the_pins(second_nurse, settings):
    """The PIN is keyed by WITNESS_PIN_KEY before it is hashed: the stored hash with its salt and rounds, searched
    over PINs by the same PBKDF2 without the key, matches none, and under another key the right PIN fails."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    witness_pin_set(user=second_nurse, pin="482916")
    second_nurse.refresh_from_db()
    _algorithm, rounds, salt, _digest = second_nurse.witness_pin.split("$")
    unkeyed = PBKDF2PasswordHasher().encode("482916", salt, int(rounds)).split("$", 1)[1]
    assert second_nurse.witness_pin.split("$", 1)[1] != unkeyed

    settings.WITNESS_PIN_KEY = "another-key-0123456789abcdefghijklmnopqrstuvwxyz"
    assert not witness_secret_is_correct(witness=second_nurse, secret="482916")


def test_a_pin_set_before_the_keyed_hash_still_confirms_and_is_then_stored_keyed(second_nurse):
    from django.contrib.auth.hashers import make_password

    second_nurse.witness_pin = make_password("482916", hasher="pbkdf2_sha256_pin")
    second_nurse.save(update_fields=["witness_pin"])

    assert not witness_secret_is_correct(witness=second_nurse, secret="482917")
    second_nurse.refresh_from_db()
    assert second_nurse.witness_pin.startswith("pbkdf2_sha256_pin$")  # a wrong PIN changes nothing

    assert witness_secret_is_correct(witness=second_nurse, secret="482916")
    second_nurse.refresh_from_db()
    assert second_nurse.witness_pin.startswith("pin_hmac_pbkdf2_sha256$")
    assert witness_secret_is_correct(witness=second_nurse, secret="482916")


def test_a_pin_stored_with_other_rounds_still_confirms_and_is_then_stored_with_todays(second_nurse):
    from clinics.hashers import WitnessPinHasher

    salt = WitnessPinHasher().salt()
    second_nurse.witness_pin = WitnessPinHasher().encode("482916", salt, iterations=1_000)
    second_nurse.save(update_fields=["witness_pin"])

    assert witness_secret_is_correct(witness=second_nurse, secret="482916")
    second_nurse.refresh_from_db()
    assert second_nurse.witness_pin.split("$")[1] == str(WitnessPinHasher.iterations)
    assert witness_secret_is_correct(witness=second_nurse, secret="482916")
    assert not witness_secret_is_correct(witness=second_nurse, secret="482917")


@pytest.mark.parametrize("pin", ["12345", "abcdef", "111111", "123456", "1234567890123"])
def test_a_short_guessable_or_non_digit_pin_is_refused_naming_the_field(second_nurse, pin):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        witness_pin_set(user=second_nurse, pin=pin)

    assert "pin" in refused.value.message_dict


def test_after_five_wrong_tries_even_the_right_pin_is_refused_saying_until_when(second_nurse, settings, time_machine):
    from clinics.services import WitnessLocked

    time_machine.move_to("2026-07-01 09:00:00+00:00", tick=False)
    witness_pin_set(user=second_nurse, pin="482916")
    for _ in range(settings.WITNESS_PIN_MAX_FAILURES):
        assert not witness_secret_is_correct(witness=second_nurse, secret="000001")

    with pytest.raises(WitnessLocked) as refused:
        witness_secret_is_correct(witness=second_nurse, secret="482916")

    # Clinic local time: 09:00 UTC is 10:00 in London in July; the lock lasts 15 minutes.
    assert refused.value.message_dict == {
        "witness_password": [
            "Witness PIN: locked until 10:15 after too many wrong tries. "
            "Ask another colleague to witness; the clinic manager has been told."
        ]
    }


def _locked_out_at_nine(witness, settings, time_machine):
    """The witness's PIN is 482916; at 09:00 enough wrong guesses lock it."""
    time_machine.move_to("2026-07-01 09:00:00+00:00", tick=False)
    witness_pin_set(user=witness, pin="482916")
    for _ in range(settings.WITNESS_PIN_MAX_FAILURES):
        witness_secret_is_correct(witness=witness, secret="000001")


def test_the_lock_ends_after_its_time_and_a_right_pin_clears_the_count(second_nurse, settings, time_machine):
    _locked_out_at_nine(second_nurse, settings, time_machine)

    time_machine.move_to("2026-07-01 09:15:00+00:00", tick=False)
    second_nurse.refresh_from_db()  # as a request reads the row
    assert witness_secret_is_correct(witness=second_nurse, secret="482916")
    second_nurse.refresh_from_db()
    assert (second_nurse.witness_pin_failures, second_nurse.witness_pin_locked_until) == (0, None)


def test_a_right_pin_read_before_wrong_tries_is_answered_and_leaves_them_counted(second_nurse, settings):
    """Wrong tries made between the row's read and a right PIN's answer stay counted (never wiped by a right PIN
    that came first); the next right PIN read after them clears them."""
    witness_pin_set(user=second_nurse, pin="482916")
    second_nurse.refresh_from_db()
    for _ in range(2):
        witness_secret_is_correct(witness=type(second_nurse).objects.get(pk=second_nurse.pk), secret="000001")

    assert witness_secret_is_correct(witness=second_nurse, secret="482916")  # the row as read before them

    second_nurse.refresh_from_db()
    assert second_nurse.witness_pin_failures == 2
    assert witness_secret_is_correct(witness=second_nurse, secret="482916")
    second_nurse.refresh_from_db()
    assert second_nurse.witness_pin_failures == 0


def test_after_the_lock_ends_the_count_starts_again_from_the_first_guess(second_nurse, settings, time_machine):
    """A lock whose time is over counts the next wrong guess as the first: five more to lock again, not one."""
    from clinics.services import WitnessLocked

    _locked_out_at_nine(second_nurse, settings, time_machine)

    time_machine.move_to("2026-07-01 09:16:00+00:00", tick=False)
    for _ in range(settings.WITNESS_PIN_MAX_FAILURES - 1):
        assert not witness_secret_is_correct(witness=second_nurse, secret="000001")
    second_nurse.refresh_from_db()
    assert (second_nurse.witness_pin_failures, second_nurse.witness_pin_locked_until) == (
        settings.WITNESS_PIN_MAX_FAILURES - 1,
        None,
    )
    assert not witness_secret_is_correct(witness=second_nurse, secret="000001")
    with pytest.raises(WitnessLocked):
        witness_secret_is_correct(witness=second_nurse, secret="482916")


def test_the_clinic_manager_sees_a_witness_pin_lockout_on_their_home_page(client_for, manager, second_nurse, settings):
    witness_pin_set(user=second_nurse, pin="482916")
    for _ in range(settings.WITNESS_PIN_MAX_FAILURES):
        witness_secret_is_correct(witness=second_nurse, secret="000001")

    page = client_for(manager).get("/").content.decode()

    assert "Witness PIN locked after wrong tries: Tom" in page
    assert "locked until" in page


def test_an_inactive_witness_never_confirms(second_nurse):
    second_nurse.is_active = False

    assert not witness_secret_is_correct(witness=second_nurse, secret=PASSWORD)


def test_a_nurse_sets_her_pin_on_the_pin_page(client_for, nurse):
    client = client_for(nurse)

    response = client.post(reverse("witness-pin"), {"password": PASSWORD, "pin": "730164", "pin_again": "730164"})

    assert response.status_code == 302
    nurse.refresh_from_db()
    assert witness_secret_is_correct(witness=nurse, secret="730164")


def test_the_pin_page_needs_the_password_and_names_each_wrong_field(client_for, nurse):
    client = client_for(nurse)

    wrong_password = client.post(reverse("witness-pin"), {"password": "nope", "pin": "730164", "pin_again": "730164"})
    mismatch = client.post(reverse("witness-pin"), {"password": PASSWORD, "pin": "730164", "pin_again": "730165"})

    assert wrong_password.status_code == 400
    assert "Password: not correct." in wrong_password.content.decode()
    assert "Repeat PIN: the two PINs are not the same." in mismatch.content.decode()
    nurse.refresh_from_db()
    assert nurse.witness_pin == ""
