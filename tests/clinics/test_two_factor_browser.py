"""Two-factor sign-in in a real browser (issue 11, done-when 2): password and code, nothing before the
second factor, a recovery code once and not twice, a manager's reset of a lost phone."""

import pytest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.factories import StaffFactory

from .test_two_factor import code_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


@pytest.fixture(autouse=True)
def _two_factor_required(settings):
    settings.STAFF_2FA_REQUIRED = True


def give_code(page, device):
    page.get_by_label("6-digit code").fill(code_for(device))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()


def test_password_then_code_nothing_before_the_code_and_the_admin_only_after_it(page, sign_in, clinic):
    admin = StaffFactory(
        username="ada.admin", first_name="Ada", is_staff=True, is_superuser=True, roles=["nurse"], clinics=[clinic]
    )
    device = TOTPDevice.objects.create(user=admin, name="default", confirmed=True)

    sign_in(page, admin)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    for path in ("/", "/patients/", "/dosing/board/", "/accounts/pin/", "/admin/", "/accounts/2fa/setup/"):
        page.goto(path)
        assert "/accounts/login/" in page.url, path
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    sign_in(page, admin)
    give_code(page, device)
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


def test_a_recovery_code_works_once_and_not_twice(page, sign_in, nurse):
    TOTPDevice.objects.create(user=nurse, name="default", confirmed=True)
    StaticDevice.objects.create(user=nurse, name="backup").token_set.create(token="k3y7m2p9")

    sign_in(page, nurse)
    page.get_by_role("button", name="Lost your phone? Use a recovery code").click()
    page.get_by_label("Recovery code").fill("k3y7m2p9")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Nursing")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, nurse)
    page.get_by_role("button", name="Lost your phone? Use a recovery code").click()
    page.get_by_label("Recovery code").fill("k3y7m2p9")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("That recovery code is not right, or it has been used already.")
    page.goto("/")
    assert "/accounts/login/" in page.url


def test_a_manager_resets_a_lost_phone_and_the_nurse_enrols_again(page, browser, live_server, sign_in, manager, nurse):
    TOTPDevice.objects.create(user=nurse, name="default", confirmed=True)
    manager_device = TOTPDevice.objects.create(user=manager, name="default", confirmed=True)

    sign_in(page, manager)
    give_code(page, manager_device)
    page.get_by_role("link", name="Staff sign-in and witness PINs").click()
    page.get_by_role("button", name=f"Reset two-factor sign-in of {nurse}").click()
    expect(page.get_by_role("status")).to_contain_text("they set up their app again when they next sign in")
    expect(page.locator(".security-events")).to_contain_text(f"Two-factor sign-in reset: {nurse}, by {manager}")

    tablet = browser.new_context(base_url=live_server.url).new_page()
    sign_in(tablet, nurse)
    tablet.goto("/")
    expect(tablet.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
