"""The dose form in one pass, and dates and times typed on a browser set to US English (issue 14.5, 14.9).

- At 768x1024 (tablet portrait) and 1366x768: every problem shown at once; the witness types their
  PIN once, even though the site was left empty; the PIN never comes back into the page.
- Chromium launched with --lang=en-US and a context locale en-US (whose native date inputs show
  mm/dd/yyyy and a 12-hour clock): dates typed dd/mm/yyyy and times 24-hour on the planned absence,
  clinic settings and adverse event forms are saved as typed.

Screenshots (test-artifacts/screenshots/): dose-form-errors-<width>, dose-form-pin-kept-<width>,
absence-form-en-US, settings-form-en-US, adverse-event-form-en-US. axe-core: no serious or critical violation.
"""

import datetime

import pytest
import time_machine
from playwright.sync_api import expect

from dosing.models import Administration, AdverseEvent, DosingSettings, PlannedAbsence
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.factories.clinics import PASSWORD

from .conftest import LONDON, TODAY, at, check, check_and_dose
from .test_board_browser import patient_with_slot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PIN_FIELD = "Witness PIN (or password)"


@pytest.fixture
def morning():
    with time_machine.travel(at(TODAY, 9, 0), tick=True) as traveller:
        yield traveller


@pytest.mark.parametrize("viewport", [{"width": 768, "height": 1024}, {"width": 1366, "height": 768}])
def test_the_dose_form_shows_every_problem_at_once_and_asks_for_the_pin_once(
    viewport, morning, page, sign_in, assert_accessible, screenshot, clinic, nurse, second_nurse, prescriber, keyworker
):
    page.set_viewport_size(viewport)
    slot = patient_with_slot(clinic, prescriber, keyworker, "Sam", "Taylor")
    check(slot, nurse, now=at(TODAY, 9, 0))
    sign_in(page, nurse)
    page.goto(f"/dosing/slots/{slot.pk}/dose/")
    expect(page.get_by_label("Injection site")).to_have_value("")  # nothing chosen for the nurse

    # Too much, no site, no PIN: all three at once, in the summary and next to each field.
    page.get_by_label("Dose given (mg)").fill("150")
    page.get_by_label("Witness", exact=True).select_option(str(second_nurse.pk))
    page.get_by_role("button", name="Record the dose").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("150 mg is more than the prescribed 100 mg")
    expect(summary).to_contain_text("Record the injection site")
    expect(summary).to_contain_text("The witness types their own PIN")
    assert page.locator(".field-error").count() == 3
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert_accessible(page)
    screenshot(page, f"dose-form-errors-{viewport['width']}")

    # The dose put right and the PIN typed, the site still empty: only the site is asked for.
    page.get_by_label("Dose given (mg)").fill("100")
    page.get_by_label(PIN_FIELD).fill(PASSWORD)
    page.get_by_role("button", name="Record the dose").click()
    expect(page.locator("#error-summary")).to_contain_text("Record the injection site")
    assert page.locator(".field-error").count() == 1
    expect(page.locator("#id_witness_password_helptext")).to_contain_text("has typed their PIN for this dose")
    expect(page.get_by_label(PIN_FIELD)).to_have_value("")
    assert PASSWORD not in page.content()
    assert_accessible(page)
    screenshot(page, f"dose-form-pin-kept-{viewport['width']}")

    # The site chosen: recorded, without the witness typing again.
    page.get_by_label("Injection site").select_option("left_arm")
    page.get_by_role("button", name="Record the dose").click()
    expect(page.locator(f"#slot-{slot.pk}")).to_contain_text("Under observation")
    given = Administration.objects.get(slot=slot)
    assert (given.dose_mg, given.witness, given.injection_site) == (100, second_nurse, "left_arm")


@pytest.fixture
def us_page(browser, live_server):
    """A tablet whose browser speaks US English: native date inputs would read mm/dd/yyyy and 12-hour time."""
    args = [arg for arg in CHROMIUM_ARGS if not arg.startswith("--lang=")] + ["--lang=en-US"]
    us_browser = browser.browser_type.launch(executable_path=CHROMIUM, args=args, headless=True)
    context = us_browser.new_context(
        viewport={"width": 768, "height": 1024},
        base_url=live_server.url,
        locale="en-US",
        timezone_id="America/New_York",
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    assert page.evaluate("navigator.language") == "en-US"
    yield page
    context.close()
    us_browser.close()


def test_dates_and_times_typed_on_a_us_english_browser_are_saved_as_a_uk_clinic_means_them(
    morning, us_page, sign_in, assert_accessible, screenshot,
    clinic, nurse, second_nurse, prescriber, keyworker, manager,
):  # fmt: skip
    page = us_page
    slot = patient_with_slot(clinic, prescriber, keyworker, "Sam", "Taylor")
    patient = slot.patient

    # 1. A planned absence: two dates, 3 and 12 (never read as 12 March).
    sign_in(page, keyworker)
    page.goto(f"/dosing/patients/{patient.pk}/absences/")
    first_day = page.get_by_label("First day away")
    assert first_day.get_attribute("type") == "text"
    expect(page.locator("#id_starts_on_format")).to_have_text("dd/mm/yyyy")
    page.get_by_label("Hospital admission").check()
    first_day.fill("03/12/2026")
    page.get_by_label("Last day away").fill("12/12/2026")
    assert_accessible(page)
    screenshot(page, "absence-form-en-US")
    page.get_by_role("button", name="Record the absence").click()
    page.wait_for_load_state()
    absence = PlannedAbsence.objects.get(patient=patient)
    assert (absence.starts_on, absence.ends_on) == (datetime.date(2026, 12, 3), datetime.date(2026, 12, 12))

    # 2. The clinic's session windows: times on the 24-hour clock, between sessions so they apply at once.
    morning.move_to(at(TODAY, 12, 0))
    sign_in(page, manager)
    page.goto("/dosing/settings/")
    afternoon_end = page.get_by_label("Afternoon ends")
    assert afternoon_end.get_attribute("type") == "text"
    expect(afternoon_end).to_have_value("18:00")
    afternoon_end.fill("18:30")
    page.get_by_label("Morning starts").fill("07:45")
    screenshot(page, "settings-form-en-US")
    page.get_by_role("button", name="Save the settings").click()
    page.wait_for_load_state()
    settings = DosingSettings.objects.get(clinic=clinic)
    assert (settings.morning_start, settings.afternoon_end) == (datetime.time(7, 45), datetime.time(18, 30))
    expect(page.get_by_label("Afternoon ends")).to_have_value("18:30")
    assert_accessible(page)

    # 3. An adverse event: a date and a time together, in the clinic's zone (not the browser's New York).
    given = check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 40))
    sign_in(page, nurse)
    page.goto(f"/dosing/administrations/{given.pk}/adverse-event/")
    page.get_by_label("Seizure").check()
    when = page.get_by_label("When")
    assert when.get_attribute("type") == "text"
    when.fill("18/11/2026 08:55")
    screenshot(page, "adverse-event-form-en-US")
    page.get_by_role("button", name="Record and alert the prescriber").click()
    page.wait_for_load_state()
    event = AdverseEvent.objects.get(administration=given)
    assert event.occurred_at == datetime.datetime(2026, 11, 18, 8, 55, tzinfo=LONDON)
