"""The statistics dashboard in a real browser, as a commissioner on a tablet."""

import datetime

import pytest

from reports import services
from tests.factories.reports import busy_clinic

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = datetime.date


@pytest.fixture
def busy(clinic, other_clinic, nurse, second_nurse, prescriber):
    busy_clinic(
        clinic, patients=24, start=D(2026, 1, 5), days=150, nurse=nurse, witness=second_nurse, prescriber=prescriber
    )
    busy_clinic(
        other_clinic,
        patients=9,
        start=D(2026, 2, 2),
        days=100,
        nurse=nurse,
        witness=second_nurse,
        prescriber=prescriber,
        seed=2,
    )
    services.refresh_summaries()


def test_a_commissioner_reads_the_dashboard_filters_and_downloads_the_csv(
    busy, page, sign_in, commissioner, assert_accessible, screenshot, clinic
):
    sign_in(page, commissioner)
    page.get_by_role("link", name="Statistics").first.click()
    page.get_by_label("From dd/mm/yyyy", exact=True).fill("01/01/2026")  # typed as the format beside it says
    page.get_by_label("To dd/mm/yyyy", exact=True).fill("30/06/2026")
    page.get_by_label("Per", exact=True).select_option("month")
    page.get_by_role("button", name="Show").click()

    assert page.get_by_role("heading", name="Statistics", level=1).is_visible()
    assert page.get_by_role("img", name="Attendance rate by period").is_visible()
    assert page.get_by_role("img", name="Doses given, missed and withheld by period").is_visible()
    assert page.get_by_role("img", name="Retention of each start cohort at 3, 6 and 12 months").is_visible()
    table = page.get_by_role("table", name="Sessions, doses and adverse events by period")
    assert table.get_by_role("row").count() == 1 + 6 + 1  # header, Jan to Jun, whole range
    assert "Busy" not in page.content()
    assert_accessible(page)
    screenshot(page, "reports-dashboard-commissioner")

    # The figures it does not chart are tables on demand (issue 15), for the same filters.
    page.get_by_role("link", name="Patients in treatment, new starts and discharges").click()
    assert page.get_by_role("heading", name="Statistics by period", level=1).is_visible()
    patients = page.get_by_role(
        "table", name="Patients in treatment at any time in the period, new starts and discharges by reason"
    )
    assert patients.get_by_role("row").count() == 1 + 6 + 1
    assert "*" in patients.inner_text()
    assert page.get_by_label("From dd/mm/yyyy", exact=True).input_value() == "01/01/2026"
    assert "Busy" not in page.content()
    assert_accessible(page)
    screenshot(page, "reports-tables-commissioner")
    page.get_by_role("link", name="statistics dashboard").click()
    assert page.get_by_role("heading", name="Statistics", level=1).is_visible()

    page.get_by_label("Figures for", exact=True).select_option(label="Middlesbrough HAT Clinic")
    page.get_by_label("Per", exact=True).select_option("quarter")
    page.get_by_role("button", name="Show").click()
    assert (
        "Darlington" not in page.get_by_role("table", name="Sessions, doses and adverse events by period").inner_text()
    )
    screenshot(page, "reports-dashboard-one-clinic-quarters")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.endswith(".csv")


def test_bad_dates_are_explained_on_the_page(busy, page, sign_in, commissioner, assert_accessible, screenshot):
    sign_in(page, commissioner)
    page.goto("/reports/?start=2026-05-01&end=2026-02-01&granularity=month")
    assert page.get_by_role("alert").is_visible()
    assert "The end date is before the start date." in page.get_by_role("alert").inner_text()
    assert_accessible(page)
    screenshot(page, "reports-dashboard-bad-range")


@pytest.fixture
def demo_history(clinic, other_clinic, nurse, second_nurse, prescriber, keyworker):
    import io

    from reports import demo

    staff = {"nurse": nurse, "nurse2": second_nurse, "prescriber": prescriber, "keyworker": keyworker}
    demo.seed(
        clinics={"mbro": clinic, "darl": other_clinic},
        staff=staff,
        stdout=io.StringIO(),
        history={"mbro": 24, "darl": 12},
    )


@pytest.mark.parametrize(("width", "height", "name"), [(1366, 768, "laptop"), (768, 1024, "tablet")])
def test_the_outcomes_dashboard_fits_a_screen_with_the_demo_history(
    demo_history, page, sign_in, commissioner, assert_accessible, screenshot, width, height, name
):
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, commissioner)
    page.get_by_role("link", name="Statistics").first.click()
    page.wait_for_load_state()

    headline = page.get_by_role("heading", name="Headline figures")
    assert headline.is_visible()
    change = page.get_by_role("img", name="How many improved, stayed the same or got worse").first
    safety = page.get_by_role("img", name="Safety events per 1,000 patient-days by period")
    cards = page.locator(".kpi")
    assert cards.count() == 12
    page.screenshot(path=str(screenshot(page, f"reports-outcomes-{name}-first-screen")))

    def bottom(locator):
        box = locator.bounding_box()
        return box["y"] + box["height"]

    # SPEC 7: the dashboard leads with crime and street drug use (the TOP change) and deaths and overdoses:
    # both charts whole on a laptop's first screen, side by side; on a portrait tablet the change chart first.
    headings = [page.locator(selector).bounding_box()["y"] for selector in ("#h-top", "#h-safety", "#h-headline")]
    assert headings[0] < headings[2] and headings[1] < headings[2]
    if name == "laptop":
        assert bottom(change) <= height and bottom(safety) <= height
        assert not page.get_by_role(
            "table", name="Safety events and rates per 1,000 patient-days by period"
        ).is_visible()
    else:
        assert bottom(change) <= height
        assert safety.is_visible()
    # Wide tables scroll inside a labelled region the keyboard can reach.
    region = page.get_by_role("region", name="Headline figures of each clinic over the range")
    assert region.get_attribute("tabindex") == "0"
    region.focus()
    assert page.evaluate("document.activeElement.getAttribute('aria-labelledby')") == "cap-comparison"
    page.get_by_text("Show the safety figures as a table").click()
    assert page.get_by_role("table", name="Safety events and rates per 1,000 patient-days by period").is_visible()
    assert_accessible(page)
    page.screenshot(
        path=str(screenshot(page, f"reports-outcomes-{name}-full").with_name(f"reports-outcomes-{name}.png"))
    )

    # The figures by period it does not chart: a link away, scrolled to the one asked for, wide tables scrolling.
    page.get_by_role("link", name="Referrals in").click()
    page.wait_for_load_state()
    referrals = page.get_by_role("table", name="Referrals received by source, and how many started treatment")
    assert referrals.is_visible()
    assert page.locator("#h-referrals").bounding_box()["y"] < height
    region = page.get_by_role("region", name="Referrals received by source, and how many started treatment")
    assert region.get_attribute("tabindex") == "0"
    assert_accessible(page)
    screenshot(page, f"reports-tables-{name}")
