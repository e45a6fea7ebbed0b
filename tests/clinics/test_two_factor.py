"""Staff two-factor sign-in (SPEC 8) on django-two-factor-auth: a password alone does not open patient data."""

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinics.models import SecurityEvent
from tests.factories import StaffFactory
from tests.factories.clinics import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
SETUP = "/accounts/2fa/setup/"


@pytest.fixture(autouse=True)
def _two_factor_required(settings):
    settings.STAFF_2FA_REQUIRED = True


def code_for(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def sign_in_with_password(client, user, next_url="/"):
    return client.post(f"{LOGIN}?next={next_url}", {"username": user.username, "password": PASSWORD})


def give_code(client, code: str, next_url="/"):
    return client.post(f"{LOGIN}?next={next_url}", {"staff_login_view-current_step": "token", "token-otp_token": code})


def give_recovery_code(client, code: str):
    client.post(LOGIN, {"staff_login_view-current_step": "token", "wizard_goto_step": "backup"})
    return client.post(LOGIN, {"staff_login_view-current_step": "backup", "backup-otp_token": code})


def enrol(client) -> TOTPDevice:
    client.post(SETUP, {"staff_setup_view-current_step": "welcome"})
    key = client.session["django_two_factor-qr_secret_key"]
    import base64

    totp = TOTP(base64.b32decode(key), 30, 0, 6, 0)
    response = client.post(
        SETUP, {"staff_setup_view-current_step": "generator", "generator-token": f"{totp.token():06d}"}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return response


@pytest.fixture
def nurse_with_phone(nurse):
    TOTPDevice.objects.create(user=nurse, name="default", confirmed=True)
    return nurse


def test_a_nurse_without_a_device_is_taken_to_set_one_up_after_her_password(client, nurse):
    response = sign_in_with_password(client, nurse)
    response = client.get(response["Location"], follow=True)

    assert response.redirect_chain[-1][0].startswith(SETUP)
    assert "Set up two-factor sign-in" in response.content.decode()
    assert client.get("/").status_code == 302  # home stays closed until she confirms a code


def test_enrolling_opens_the_home_page_and_offers_recovery_codes(client, nurse):
    sign_in_with_password(client, nurse)

    response = enrol(client)

    assert response["Location"] == reverse("two_factor:backup_tokens")
    assert TOTPDevice.objects.get(user=nurse, confirmed=True).name == "default"
    codes = client.post(reverse("two_factor:backup_tokens"), follow=True)
    assert codes.content.decode().count("<code>") == 10
    assert ">Nursing</h2>" in client.get("/").content.decode()


def test_a_wrong_code_at_setup_is_refused_with_a_plain_message(client, nurse):
    sign_in_with_password(client, nurse)
    client.post(SETUP, {"staff_setup_view-current_step": "welcome"})

    response = client.post(SETUP, {"staff_setup_view-current_step": "generator", "generator-token": "000000"})

    assert "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=nurse).exists()


def test_a_nurse_with_a_device_is_not_signed_in_until_she_gives_her_code(client, nurse_with_phone):
    step = sign_in_with_password(client, nurse_with_phone)
    assert "Enter your code" in step.content.decode()
    assert client.get("/").status_code == 302  # the password alone signed nobody in

    refused = give_code(client, "123456")
    assert "That code is not right" in refused.content.decode()

    device = TOTPDevice.objects.get(user=nurse_with_phone)
    device.throttle_reset()  # the wrong guess above started django-otp's back-off
    accepted = give_code(client, code_for(device))
    assert accepted.status_code == 302 and accepted["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_recovery_code_signs_in_once_and_never_again(client, nurse_with_phone):
    device = StaticDevice.objects.create(user=nurse_with_phone, name="backup")
    device.token_set.create(token="k3y7m2p9")

    sign_in_with_password(client, nurse_with_phone)
    first = give_recovery_code(client, "k3y7m2p9")
    assert first.status_code == 302
    assert client.get("/").status_code == 200

    client.post(reverse("logout"))
    sign_in_with_password(client, nurse_with_phone)
    second = give_recovery_code(client, "k3y7m2p9")
    assert second.status_code == 200
    assert "That recovery code is not right, or it has been used already." in second.content.decode()
    assert client.get("/").status_code == 302


def test_the_staff_api_refuses_a_session_without_the_second_factor(client, nurse):
    client.force_login(nurse)

    response = client.get("/api/v1/me/")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "Two-factor verification is required" in response.json()["detail"]


def test_the_health_check_never_asks_for_a_second_factor(client, nurse):
    client.force_login(nurse)

    assert client.get("/health/").status_code == 200


def test_the_code_step_never_redirects_to_another_site(client, nurse_with_phone):
    device = TOTPDevice.objects.get(user=nurse_with_phone)
    sign_in_with_password(client, nurse_with_phone, next_url="https://evil.example/")

    response = give_code(client, code_for(device), next_url="https://evil.example/")

    assert response.status_code == 302 and response["Location"] == reverse("home")


# --- A lost phone: the manager's audited reset --------------------------------------------------------------------


def verified_client(client, user):
    device = TOTPDevice.objects.get_or_create(user=user, name="default", defaults={"confirmed": True})[0]
    sign_in_with_password(client, user)
    give_code(client, code_for(device))
    return client


def test_a_manager_resets_a_nurses_lost_phone_and_it_is_recorded(client, manager, nurse_with_phone):
    verified_client(client, manager)

    response = client.post(f"/clinic/security/{nurse_with_phone.pk}/reset-two-factor/", follow=True)

    assert "Two-factor sign-in of Nia" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=nurse_with_phone).exists()
    event = SecurityEvent.objects.get()
    assert (event.kind, event.subject, event.actor) == ("two_factor_reset", nurse_with_phone, manager)


def test_a_manager_cannot_reset_staff_of_another_clinic_an_administrator_or_themselves(
    client, manager, other_nurse, clinic
):
    admin = StaffFactory(username="ada.admin", is_staff=True, is_superuser=True, clinics=[clinic])
    TOTPDevice.objects.create(user=other_nurse, name="default", confirmed=True)
    TOTPDevice.objects.create(user=admin, name="default", confirmed=True)
    verified_client(client, manager)

    assert client.post(f"/clinic/security/{other_nurse.pk}/reset-two-factor/").status_code == 404
    refused = client.post(f"/clinic/security/{admin.pk}/reset-two-factor/", follow=True)
    assert "Only a system administrator can reset two-factor sign-in" in refused.content.decode()
    own = client.post(f"/clinic/security/{manager.pk}/reset-two-factor/", follow=True)
    assert "You cannot reset two-factor sign-in for yourself" in own.content.decode()
    assert TOTPDevice.objects.count() == 3
    assert not SecurityEvent.objects.exists()


def test_a_nurse_cannot_open_the_managers_security_page(client, nurse_with_phone, second_nurse):
    verified_client(client, nurse_with_phone)

    assert client.get("/clinic/security/").status_code == 403
    assert client.post(f"/clinic/security/{second_nurse.pk}/lift-sign-in-pause/").status_code == 403


def test_after_a_reset_the_nurse_enrols_a_new_phone_at_her_next_sign_in(client, manager, nurse_with_phone):
    from clinics.security import two_factor_reset

    two_factor_reset(actor=manager, subject=nurse_with_phone, clinic=manager.clinics.get())

    sign_in_with_password(client, nurse_with_phone)
    assert client.get("/")["Location"].startswith(SETUP)
    enrol(client)
    assert client.get("/").status_code == 200
