"""Issue 11, holes 1, 2, 3 and 10, attacked from outside with the test client.

Each test performs the attack as an outsider would (plain HTTP posts, paths rather than
view names) and asserts that it is refused.
"""

import base64
import re

import pytest
from django.contrib.sessions.models import Session
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import StaffFactory
from tests.factories.clinics import PASSWORD

pytestmark = pytest.mark.django_db


def totp_code(key: bytes) -> str:
    totp = TOTP(key, 30, 0, 6, 0)
    return f"{totp.token():06d}"


def sign_in_with_password_only(client, user, **extra):
    return client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}, **extra)


def try_to_enrol_a_new_authenticator(client, user):
    """The attacker opens the set-up page directly and confirms a device of their own, every way they can."""
    page = client.get("/accounts/2fa/setup/")
    keys = [device.bin_key for device in TOTPDevice.objects.filter(user=user, confirmed=False)]
    secret = client.session.get("django_two_factor-qr_secret_key")
    if secret:
        keys.append(base64.b32decode(secret))
    for found in re.findall(rb"([A-Z2-7]{4}(?: [A-Z2-7]{4}){7})", page.content):
        keys.append(base64.b32decode(found.replace(b" ", b"")))
    for key in keys:
        code = totp_code(key)
        client.post("/accounts/2fa/setup/", {"token": code})
        for prefix in ("setup_view", "staff_setup_view"):
            client.post("/accounts/2fa/setup/", {f"{prefix}-current_step": "welcome"})
            client.post("/accounts/2fa/setup/", {f"{prefix}-current_step": "generator", "generator-token": code})


@pytest.fixture
def two_factor_on(settings):
    settings.STAFF_2FA_REQUIRED = True


# --- Hole 1: a stolen password opens nothing -------------------------------------------------------------------


def test_a_stolen_password_cannot_enrol_a_second_authenticator(client, nurse, two_factor_on):
    TOTPDevice.objects.create(user=nurse, name="default", confirmed=True)

    sign_in_with_password_only(client, nurse)
    try_to_enrol_a_new_authenticator(client, nurse)

    assert client.get("/api/v1/patients/").status_code in (401, 403)
    assert client.get("/").status_code == 302
    assert TOTPDevice.objects.filter(user=nurse).count() == 1  # the attacker's device is not on the account


def test_a_stolen_superuser_password_does_not_open_the_admin(client, clinic, two_factor_on):
    admin = StaffFactory(username="ada.admin", is_staff=True, is_superuser=True, clinics=[clinic])
    TOTPDevice.objects.create(user=admin, name="default", confirmed=True)

    sign_in_with_password_only(client, admin)
    try_to_enrol_a_new_authenticator(client, admin)

    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/clinics/user/").status_code == 302


def test_the_admin_needs_the_second_factor_even_where_staff_pages_do_not(client, clinic):
    """STAFF_2FA_REQUIRED off (the default of these tests): the admin still asks for the second factor."""
    admin = StaffFactory(username="ada.admin", is_staff=True, is_superuser=True, clinics=[clinic])
    client.force_login(admin)

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain, "the admin answered a session without a second factor"
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "Site administration" not in response.content.decode()


@pytest.mark.parametrize(
    "path", ["/", "/patients/", "/dosing/board/", "/api/v1/me/", "/clinics/1/", "/clinic/security/"]
)
def test_no_staff_page_or_api_answers_a_password_only_session(client, nurse, two_factor_on, path):
    TOTPDevice.objects.create(user=nurse, name="default", confirmed=True)
    client.force_login(nurse)  # a session that gave the password and nothing else

    response = client.get(path)

    assert response.status_code in (302, 401, 403), path
    if response.status_code == 302:
        assert response["Location"].startswith("/accounts/login/"), response["Location"]


# --- Hole 2: the witness PIN needs the second factor -----------------------------------------------------------


def test_a_password_only_session_cannot_set_the_witness_pin(client, nurse, two_factor_on):
    TOTPDevice.objects.create(user=nurse, name="default", confirmed=True)
    client.force_login(nurse)

    response = client.post("/accounts/pin/", {"password": PASSWORD, "pin": "730164", "pin_again": "730164"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    nurse.refresh_from_db()
    assert nurse.witness_pin == ""


# --- Hole 3: lockout as a weapon --------------------------------------------------------------------------------

PROXY = "10.0.0.2"


def test_an_attacker_behind_the_proxy_cannot_lock_out_a_colleague(client, nurse, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    for _ in range(settings.AXES_FAILURE_LIMIT + 2):
        client.post("/accounts/login/", {"username": nurse.username, "password": "wrong-password"}, **attacker)

    victim = sign_in_with_password_only(client, nurse, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert victim.status_code == 302


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_lockout(client, nurse, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/accounts/login/",
            {"username": nurse.username, "password": "wrong-password"},
            REMOTE_ADDR="203.0.113.66",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )

    guess = sign_in_with_password_only(client, nurse, REMOTE_ADDR="203.0.113.66", HTTP_X_FORWARDED_FOR="192.0.2.99")

    assert guess.status_code == 429


def test_a_locked_person_is_told_how_long_the_pause_lasts(client, nurse, settings, time_machine):
    time_machine.move_to("2026-11-18 09:00:00+00:00", tick=False)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": nurse.username, "password": "wrong-password"})

    response = sign_in_with_password_only(client, nurse)

    assert response.status_code == 429
    assert "15 minutes" in response.content.decode()
    assert "09:15" in response.content.decode()


# --- Hole 10: the board's poll is not activity ------------------------------------------------------------------


def stored_expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_the_board_poll_does_not_keep_the_session_alive(client_for, nurse, time_machine):
    time_machine.move_to("2026-11-18 09:00:00+00:00", tick=False)
    client = client_for(nurse)
    client.get("/dosing/board/")
    first_expiry = stored_expiry(client)

    for minute in (2, 10, 29):
        time_machine.move_to(f"2026-11-18 09:{minute:02d}:00+00:00", tick=False)
        client.get("/dosing/board/rows/", HTTP_X_REQUESTED_WITH="fetch", HTTP_X_BACKGROUND_POLL="1")

    assert stored_expiry(client) == first_expiry


# --- Hole 3: the witness PIN lockout holds under concurrency -----------------------------------------------------

GUESSERS = 40


def _simultaneous_guesses(witness, pins: list[str]) -> list:
    """Each PIN guessed at the same moment from a thread of its own (its own connection): True, False, or
    the refusal's text."""
    import threading

    from django.db import connection

    from clinics.services import witness_secret_is_correct

    start = threading.Barrier(len(pins))
    outcomes = []

    def guess(pin: str) -> None:
        try:
            start.wait()
            outcomes.append(witness_secret_is_correct(witness=type(witness).objects.get(pk=witness.pk), secret=pin))
        except Exception as refusal:  # a refusal naming the lock is a right answer too
            outcomes.append(str(refusal))
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(pin,)) for pin in pins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == len(pins)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_forty_simultaneous_wrong_pins_get_at_most_five_answers(clinic, settings):
    from clinics.services import witness_pin_set

    witness = StaffFactory(roles=["nurse"], clinics=[clinic])
    witness_pin_set(user=witness, pin="482916")

    outcomes = _simultaneous_guesses(witness, [f"{n:06d}" for n in range(GUESSERS)])

    answered = [outcome for outcome in outcomes if isinstance(outcome, bool)]
    assert True not in answered
    assert len(answered) <= settings.WITNESS_PIN_MAX_FAILURES, f"{len(answered)} guesses were answered"
    assert all("locked until" in outcome for outcome in outcomes if not isinstance(outcome, bool))
    witness.refresh_from_db()
    assert witness.witness_pin_locked_until is not None


def test_no_hash_is_worked_out_for_a_witness_known_to_be_locked(clinic, settings, monkeypatch):
    """A witness without a PIN confirms with their password: a slow hash. A locked one costs none."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from clinics.services import WitnessLocked, witness_secret_is_correct

    witness = StaffFactory(roles=["nurse"], clinics=[clinic])
    for _ in range(settings.WITNESS_PIN_MAX_FAILURES):
        witness_secret_is_correct(witness=witness, secret="not the password")
    witness.refresh_from_db()
    worked_out = []
    verify = PBKDF2PasswordHasher.verify

    def counting_verify(self, password, encoded):  # a spy on the hash: calls the real one
        worked_out.append(password)
        return verify(self, password, encoded)

    monkeypatch.setattr(PBKDF2PasswordHasher, "verify", counting_verify)
    with pytest.raises(WitnessLocked):
        witness_secret_is_correct(witness=witness, secret=PASSWORD)
    assert worked_out == []


@pytest.mark.django_db(transaction=True)
def test_the_right_pin_sent_many_times_at_once_to_a_locked_witness_is_refused_every_time(clinic, settings):
    """A right guess checked past the limit must not be answered: its answer is the lock's, like a wrong one's."""
    from clinics.services import witness_pin_set

    witness = StaffFactory(roles=["nurse"], clinics=[clinic])
    witness_pin_set(user=witness, pin="482916")
    _simultaneous_guesses(witness, [f"{n:06d}" for n in range(settings.WITNESS_PIN_MAX_FAILURES)])

    outcomes = _simultaneous_guesses(witness, ["482916"] * 10)

    assert all(isinstance(outcome, str) and "locked until" in outcome for outcome in outcomes), outcomes
