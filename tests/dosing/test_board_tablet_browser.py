"""The board on a portrait tablet with 150 patients: no sideways scroll, find a patient in a few keys, filters.

Both sizes of the issue: 768x1024 (portrait, stacked cards) and 1366x768 (landscape laptop, the table).
"""

import pytest
import time_machine
from playwright.sync_api import expect

from dosing.models import Hold, Session
from tests.factories import PatientFactory, PrescriptionFactory, SlotFactory, TreatmentConsentFactory

from .conftest import TODAY, at, check_and_dose

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PORTRAIT = {"width": 768, "height": 1024}
LANDSCAPE = {"width": 1366, "height": 768}
FAMILY_NAMES = ["Taylor", "Morgan", "Hughes", "Patel", "Khan", "Evans", "Walker", "Wright", "Green", "Hall"]
GIVEN_NAMES = ["Sam", "Alex", "Jo", "Chris", "Lee", "Robin", "Kim", "Pat", "Jamie", "Terry"]
MORE_FAMILY_NAMES = ["Ahmed", "Baker", "Clarke", "Davies", "Edwards", "Fisher", "Gray", "Iqbal", "Jones", "King"]


def _name(index: int) -> tuple[str, str]:
    """Ten named patients first (Sam Taylor, Jo Hughes...), then 140 whose names match none of their searches."""
    if index < 10:
        return GIVEN_NAMES[index], FAMILY_NAMES[index]
    return f"Robin{index}", f"{MORE_FAMILY_NAMES[index % 10]}"


@pytest.fixture
def morning():
    with time_machine.travel(at(TODAY, 9, 0), tick=True) as traveller:
        yield traveller


@pytest.fixture
def full_board(clinic, prescriber, keyworker):
    """150 patients in this morning's session; "Sam Taylor" prefers "Sammy"."""
    slots = []
    for index in range(150):
        given, family = _name(index)
        patient = PatientFactory(
            clinic=clinic, given_name=given, family_name=family, preferred_name="Sammy" if index == 0 else ""
        )
        TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
        prescription = PrescriptionFactory(patient=patient, prescriber=prescriber)
        slots.append(SlotFactory(prescription=prescription, date=TODAY, session=Session.MORNING))
    return slots


def _no_sideways_scroll(page):
    widths = page.evaluate(
        "() => ({doc: document.documentElement.scrollWidth, view: window.innerWidth,"
        " board: document.getElementById('board').getBoundingClientRect().right})"
    )
    assert widths["doc"] <= widths["view"], widths
    assert widths["board"] <= widths["view"], widths


@pytest.mark.parametrize("viewport", [PORTRAIT, {"width": 810, "height": 1080}, {"width": 820, "height": 1180}])
def test_the_board_never_scrolls_sideways_on_a_portrait_tablet(
    morning, browser, live_server, sign_in, assert_accessible, screenshot, full_board, nurse, second_nurse, viewport
):
    # The widest rows a session has: a long name, under observation with its count-down, on hold with its reason.
    long_named = full_board[3].patient
    long_named.given_name, long_named.family_name = "Alexandria-Rose", "Montgomery-Whitfield"
    long_named.save()
    check_and_dose(full_board[3], nurse, second_nurse, now=at(TODAY, 8, 55))
    check_and_dose(full_board[4], nurse, second_nurse, now=at(TODAY, 8, 30))  # observation over: sign out
    Hold.objects.create(
        patient=full_board[5].patient, prescription=full_board[5].prescription, since=at(TODAY, 7), missed_days=3,
        missed_since=TODAY, reason="No dose: 3 consecutive days missed since 15 Nov; prescriber review required",
    )  # fmt: skip
    context = browser.new_context(viewport=viewport, base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    sign_in(page, nurse)
    page.goto("/dosing/board/")
    expect(page.locator("tr.board-row")).to_have_count(150)

    _no_sideways_scroll(page)
    first = page.locator(f"#slot-{full_board[0].pk}")
    action = first.get_by_role("button", name="Mark arrived")
    box, view = action.bounding_box(), viewport["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= view, box  # the action button is on screen, not cut off
    if viewport == PORTRAIT:
        assert_accessible(page)
        screenshot(page, "dosing-board-portrait-768")
    context.close()


def test_find_a_patient_in_a_few_keys_and_filter_by_stage(
    morning, browser, live_server, sign_in, assert_accessible, screenshot, full_board, nurse, second_nurse
):
    context = browser.new_context(viewport=PORTRAIT, base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    sign_in(page, nurse)
    page.goto("/dosing/board/")
    rows = page.locator("tr.board-row:visible")
    expect(rows).to_have_count(150)

    # "/" jumps to the search box; the preferred name finds the patient.
    page.keyboard.press("/")
    expect(page.locator("#board-search")).to_be_focused()
    page.keyboard.type("samm")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Taylor")
    expect(page.locator("#board-find-result")).to_have_text("1 of 150 patients shown")
    screenshot(page, "dosing-board-search-768")

    # Initials and word beginnings: "jo hu" is Jo Hughes only.
    page.locator("#board-search").fill("jo hu")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Jo Hughes")

    # Enter opens the first match's next step (Mark arrived posts and comes back to the board).
    page.keyboard.press("Enter")
    page.wait_for_url("**/dosing/board/**")
    expect(page.locator(f"#slot-{full_board[2].pk}")).to_contain_text("Arrived")

    # Filters: "Arrived" shows only Jo; a dose given on another tablet moves Sam to "Under observation" live.
    page.get_by_role("button", name="Arrived", exact=True).click()
    expect(page.locator("tr.board-row:visible")).to_have_count(1)
    page.get_by_role("button", name="Under observation").click()
    expect(page.locator("tr.board-row:visible")).to_have_count(0)
    check_and_dose(full_board[0], second_nurse, nurse, now=at(TODAY, 9, 1))
    expect(page.locator("tr.board-row:visible")).to_have_count(1, timeout=8000)  # within two polls, no reload
    expect(page.locator("tr.board-row:visible").first).to_contain_text("Taylor")
    page.get_by_role("button", name="Everyone").click()
    expect(page.locator("tr.board-row:visible")).to_have_count(150)
    assert_accessible(page)
    context.close()


def test_the_landscape_board_keeps_its_table(morning, browser, live_server, sign_in, screenshot, full_board, nurse):
    context = browser.new_context(viewport=LANDSCAPE, base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    sign_in(page, nurse)
    page.goto("/dosing/board/")
    expect(page.get_by_role("columnheader", name="Next")).to_be_visible()
    _no_sideways_scroll(page)
    screenshot(page, "dosing-board-landscape-1366")
    context.close()
