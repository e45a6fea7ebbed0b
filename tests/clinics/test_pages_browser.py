import pytest
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_nurse_signs_in_and_sees_her_home_page(page, nurse, sign_in, assert_accessible, screenshot):
    page.goto("/")
    assert "/accounts/login/" in page.url
    assert_accessible(page)
    screenshot(page, "login")

    sign_in(page, nurse)

    assert page.get_by_role("heading", name="Nursing").is_visible()
    assert_accessible(page)
    screenshot(page, "home-nurse")


def test_a_wrong_password_shows_one_plain_message(page, nurse, sign_in, assert_accessible, screenshot):
    sign_in(page, nurse, password="not-the-password")

    assert page.get_by_role("alert").inner_text() == "The username or password is not right. Please try again."
    assert_accessible(page)
    screenshot(page, "login-failed")


def test_a_manager_of_two_clinics_switches_clinic_from_the_header(
    page, clinic, other_clinic, sign_in, assert_accessible, screenshot
):
    from tests.factories import StaffFactory

    manager = StaffFactory(username="maggie", roles=["clinic_manager"], clinics=[clinic, other_clinic])
    sign_in(page, manager)
    assert page.get_by_label("Clinic", exact=True).input_value() == str(other_clinic.pk)

    page.get_by_label("Clinic", exact=True).select_option(str(clinic.pk))
    page.get_by_role("button", name="Switch").click()

    assert page.locator(".messages").inner_text() == "You are now working in Middlesbrough HAT Clinic."
    assert page.get_by_label("Clinic", exact=True).input_value() == str(clinic.pk)
    assert_accessible(page)
    screenshot(page, "home-manager-switched")

    page.get_by_role("link", name="Clinic details and staff").click()
    assert page.url.endswith(reverse("clinic-detail", args=[clinic.pk]))
    assert_accessible(page)
    screenshot(page, "clinic-detail")


def test_the_api_docs_load_under_the_strict_content_security_policy(page, nurse, sign_in, screenshot):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in(page, nurse)

    page.goto("/api/docs/")
    page.get_by_text("HAT Clinic API").first.wait_for()

    screenshot(page, "api-docs")
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_nurse_enrols_an_authenticator_app_at_her_first_sign_in(
    page, nurse, settings, sign_in, assert_accessible, screenshot
):
    import base64

    from django_otp.oath import TOTP

    settings.STAFF_2FA_REQUIRED = True
    sign_in(page, nurse)
    assert page.get_by_role("heading", name="Set up two-factor sign-in").is_visible()
    page.get_by_role("button", name="Start").click()
    assert page.get_by_role("img", name="QR code to add HAT Clinic to your authenticator app").is_visible()
    assert_accessible(page)
    screenshot(page, "two-factor-setup")

    key = base64.b32decode(page.locator(".otp-secret").inner_text().replace(" ", ""))
    code = TOTP(key, 30, 0, 6, 0).token()
    page.get_by_label("6-digit code").fill(f"{code:06d}")
    page.get_by_role("button", name="Confirm").click()

    # Straight on to the recovery codes, then the home page.
    page.get_by_role("button", name="Make new recovery codes").click()
    assert page.locator(".recovery-codes li").count() == 10
    page.get_by_role("link", name="Continue to the home page").click()
    assert page.get_by_role("heading", name="Nursing").is_visible()
