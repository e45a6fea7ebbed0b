"""Staff two-factor sign-in (SPEC 8): a password alone does not open patient data."""

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories.clinics import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _two_factor_required(settings):
    settings.STAFF_2FA_REQUIRED = True


def code_for(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def sign_in_with_password(client, user):
    return client.post(reverse("login"), {"username": user.username, "password": PASSWORD}, follow=True)


def test_a_nurse_without_a_device_is_taken_to_set_one_up_after_her_password(client, nurse):
    response = sign_in_with_password(client, nurse)

    assert response.redirect_chain[-1][0].startswith(reverse("two-factor-setup"))
    assert "Set up two-factor sign-in" in response.content.decode()
    assert client.get("/").status_code == 302  # home stays closed until she confirms a code


def test_confirming_the_device_with_a_right_code_opens_the_home_page(client, nurse):
    sign_in_with_password(client, nurse)
    device = TOTPDevice.objects.get(user=nurse, confirmed=False)

    response = client.post(reverse("two-factor-setup"), {"token": code_for(device), "next": "/"}, follow=True)

    assert response.redirect_chain[-1][0] == "/"
    assert ">Nursing</h2>" in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed


def test_a_wrong_code_at_setup_is_refused_with_a_plain_message(client, nurse):
    sign_in_with_password(client, nurse)

    response = client.post(reverse("two-factor-setup"), {"token": "000000"})

    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=nurse, confirmed=True).exists()


def test_a_nurse_with_a_device_must_give_a_code_at_every_sign_in(client, nurse):
    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)

    response = sign_in_with_password(client, nurse)
    assert response.redirect_chain[-1][0].startswith(reverse("two-factor-verify"))

    refused = client.post(reverse("two-factor-verify"), {"token": "123456"})
    assert refused.status_code == 400

    device.refresh_from_db()
    device.throttling_failure_count = 0  # the wrong guess above started django-otp's back-off
    device.throttling_failure_timestamp = None
    device.save()
    accepted = client.post(reverse("two-factor-verify"), {"token": code_for(device), "next": "/"})
    assert accepted.status_code == 302
    assert client.get("/").status_code == 200


def test_the_staff_api_refuses_a_session_without_the_second_factor(client, nurse):
    sign_in_with_password(client, nurse)

    response = client.get("/api/v1/me/")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "Two-factor verification is required" in response.json()["detail"]


def test_the_health_check_never_asks_for_a_second_factor(client, nurse):
    sign_in_with_password(client, nurse)

    assert client.get("/health/").status_code == 200


def test_the_code_page_never_redirects_to_another_site(client, nurse):
    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    sign_in_with_password(client, nurse)

    response = client.post(reverse("two-factor-verify"), {"token": code_for(device), "next": "https://evil.example/"})

    assert response["Location"] == "/"
