"""Issue 11, hole 10: the board's polls do not keep a session alive; it warns, and a tap keeps it."""

import pytest
from playwright.sync_api import expect

from clinics.middleware import SessionIdleMiddleware

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def test_the_board_warns_before_the_idle_sign_out_and_a_tap_keeps_the_session(
    page, sign_in, nurse, settings, monkeypatch
):
    # A 125-second idle limit, renewed by any real request: the two-minute warning comes within seconds.
    settings.SESSION_COOKIE_AGE = 125
    monkeypatch.setattr(SessionIdleMiddleware, "RENEW_AFTER_SECONDS", 0)
    sign_in(page, nurse)
    page.goto("/dosing/board/")
    warning = page.locator("#idle-warning")
    expect(warning).to_be_hidden()

    expect(warning).to_be_visible(timeout=15_000)  # polls ran meanwhile and did not renew the session
    expect(warning).to_contain_text("you will be signed out in 2 minutes")

    page.mouse.click(5, 5)
    expect(warning).to_be_hidden(timeout=10_000)
