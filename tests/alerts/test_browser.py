"""A prescriber publishes a drug alert; two nurses see the banner on the dosing board; one acknowledges it."""

import datetime as dt

import pytest
from django.utils import timezone

from alerts.models import AlertAcknowledgement, DrugAlert

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def second_page(browser, live_server):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_publish_then_the_banner_on_the_board_until_acknowledged(
    page, second_page, sign_in, assert_accessible, screenshot, prescriber, nurse, second_nurse, housing
):
    sign_in(page, prescriber)
    page.goto("/alerts/")
    assert_accessible(page)
    page.get_by_role("button", name="Publish the alert").click()  # nothing filled: the form says what is missing
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_text("Name the substance").first.is_visible()
    assert_accessible(page)

    page.get_by_label("Substance").fill("Heroin with nitazenes")
    page.get_by_label("What was seen").fill("Blue-speckled brown powder")
    page.get_by_label("Area").fill("Middlesbrough town centre")
    page.get_by_label("Severity").select_option("critical")
    page.get_by_label("Advice to give").fill("Do not use alone; carry naloxone; try a small amount first.")
    valid_until = timezone.localtime(timezone.now() + dt.timedelta(days=7))
    page.get_by_label("Valid until").fill(valid_until.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Publish the alert").click()
    page.get_by_role("heading", name="Heroin with nitazenes", level=1).wait_for()
    assert DrugAlert.objects.get().status == "published"
    assert_accessible(page)
    page.emulate_media(media="print")
    screenshot(page, "drug-alert-print-notice")
    page.emulate_media(media="screen")

    sign_in(second_page, second_nurse)
    second_page.goto("/dosing/board/")
    assert second_page.get_by_role("region", name="Drug alert: please read").is_visible()

    sign_in(page, nurse)  # the same browser page, now the first nurse
    page.goto("/dosing/board/")
    banner = page.get_by_role("region", name="Drug alert: please read")
    assert "Heroin with nitazenes" in banner.locator(".drug-alert__headline").inner_text()
    assert_accessible(page)
    screenshot(page, "drug-alert-banner-on-board")

    banner.get_by_role("button", name="I have read this").click()
    page.wait_for_url("**/dosing/board/")
    assert page.get_by_role("region", name="Drug alert: please read").count() == 0
    assert AlertAcknowledgement.objects.get().user == nurse
    assert_accessible(page)
    screenshot(page, "drug-alert-acknowledged-board")

    second_page.reload()
    assert second_page.get_by_role("region", name="Drug alert: please read").is_visible()
