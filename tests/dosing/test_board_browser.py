"""A whole dosing session for one patient in a real browser, watched by a second nurse's board.

Time: the whole test runs inside `time_machine.travel(..., tick=True)` at 09:00 on a clinic
morning, which moves the clock of the live server thread too (same process). The board's
count-down runs on the browser's own clock corrected by the server time in every poll, so
`traveller.shift(...)` past the observation end is seen by the server (S6 allows sign-out)
and by the count-down alike, without waiting 10 real minutes.
"""

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from playwright.sync_api import expect

from clinics.services import witness_pin_set
from dosing import services
from dosing.models import DosingSettings, Hold, Session
from tests.browser import TABLET
from tests.factories import PatientFactory, PrescriptionFactory, SlotFactory, TreatmentConsentFactory
from tests.factories.clinics import PASSWORD

from .conftest import TODAY, at, check_and_dose

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PIN = "482916"


@pytest.fixture
def morning():
    with time_machine.travel(at(TODAY, 9, 0), tick=True) as traveller:
        yield traveller


def patient_with_slot(clinic, prescriber, keyworker, given_name, family_name):
    patient = PatientFactory(clinic=clinic, given_name=given_name, family_name=family_name)
    TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
    prescription = PrescriptionFactory(patient=patient, prescriber=prescriber)
    return SlotFactory(prescription=prescription, date=TODAY, session=Session.MORNING)


def test_a_whole_session_for_one_patient_seen_live_on_a_second_board(
    morning, browser, live_server, page, sign_in, assert_accessible, screenshot,
    clinic, nurse, second_nurse, prescriber, keyworker,
):  # fmt: skip
    settings = DosingSettings.for_clinic(clinic)
    settings.observation_minutes = 10  # S6: the shortest the clinic may set
    settings.save()
    witness_pin_set(user=second_nurse, pin=PIN)
    slot = patient_with_slot(clinic, prescriber, keyworker, "Sam", "Taylor")
    patient_with_slot(clinic, prescriber, keyworker, "Alex", "Morgan")
    held = patient_with_slot(clinic, prescriber, keyworker, "Jo", "Hughes")
    Hold.objects.create(
        patient=held.patient, prescription=held.prescription, since=at(TODAY, 7, 0), missed_days=3,
        missed_since=datetime.date(2026, 11, 14),
        reason="S7 · No dose: 3 consecutive days missed since 14 Nov; prescriber review required",
    )  # fmt: skip
    row = f"#slot-{slot.pk}"

    # The second nurse watches the board on another tablet and never reloads it.
    other = browser.new_context(viewport=TABLET, base_url=live_server.url, locale="en-GB")
    watcher = other.new_page()
    sign_in(watcher, second_nurse)
    watcher.goto("/dosing/board/")
    expect(watcher.locator(row)).to_contain_text("Expected")
    # The watcher is about to act on another patient: updates must not take their focus away.
    watcher.get_by_role("button", name="Mark arrived: Alex Morgan").focus()

    sign_in(page, nurse)
    page.goto("/dosing/board/")
    expect(page.locator(f"#slot-{held.pk}")).to_contain_text("ON HOLD")
    expect(page.locator(f"#slot-{held.pk}")).to_contain_text("3 consecutive days missed since 14 Nov")
    assert_accessible(page)
    screenshot(page, "dosing-board-tablet")

    # Arrive: keyboard only.
    page.get_by_role("button", name="Mark arrived: Sam Taylor").focus()
    page.keyboard.press("Enter")
    expect(page.locator(row)).to_contain_text("Arrived")
    expect(watcher.locator(row)).to_contain_text("Arrived", timeout=8000)
    expect(watcher.get_by_role("button", name="Mark arrived: Alex Morgan")).to_be_focused()
    expect(watcher.locator("#board-announcer")).to_contain_text("Sam Taylor: Arrived")

    # Pre-dose check, first with a breath alcohol above the limit: refused (S5), values kept.
    page.get_by_role("link", name="Pre-dose check: Sam Taylor").click()
    page.get_by_label("Awake and alert").check()
    page.get_by_label("Breath alcohol (µg/100 ml)").fill("80")
    page.get_by_label("Proceed with the prescribed dose").check()
    page.get_by_role("button", name="Record the check").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("An intoxicated patient is withheld")
    expect(summary).to_be_focused()
    expect(page.get_by_label("Breath alcohol (µg/100 ml)")).to_have_value("80")
    assert_accessible(page)
    screenshot(page, "dosing-check-refused")
    page.get_by_label("Breath alcohol (µg/100 ml)").fill("0")
    page.get_by_role("button", name="Record the check").click()

    # The dose form: prefilled with the authorised dose; the witness types their PIN.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Give dose: Sam Taylor")
    expect(page.get_by_label("Dose given (mg)")).to_have_value("100.00")
    page.get_by_label("Injection site").select_option("left_arm")
    page.get_by_label("Witness", exact=True).select_option(str(second_nurse.pk))
    page.get_by_label("Witness PIN (or password)").fill("000000")
    page.get_by_role("button", name="Record the dose").click()
    expect(page.locator("#error-summary")).to_contain_text("The witness's PIN (or password) is not correct")
    assert_accessible(page)
    screenshot(page, "dosing-dose-refused")
    page.get_by_label("Witness PIN (or password)").fill(PIN)
    page.get_by_role("button", name="Record the dose").click()

    # Under observation: the count-down runs on both boards.
    expect(page.locator(row)).to_contain_text("Under observation")
    expect(page.locator(f"{row} .countdown")).to_have_text(re.compile(r"^(9|10):\d\d left · until 09:1\d$"))
    expect(watcher.locator(row)).to_contain_text("Under observation", timeout=8000)
    first = page.locator(f"{row} .countdown__left").inner_text()
    page.wait_for_timeout(2100)
    assert page.locator(f"{row} .countdown__left").inner_text() != first, "the count-down ticks"
    assert_accessible(page)
    screenshot(page, "dosing-board-observation")

    # Signing out early is refused (S6).
    page.goto(f"/dosing/slots/{slot.pk}/")
    page.get_by_role("link", name="Sign out after observation").click()
    page.get_by_label("Well, left the clinic").check()
    page.get_by_role("button", name="Sign the patient out").click()
    expect(page.locator("#error-summary")).to_contain_text("Observation ends at")
    page.get_by_role("link", name="Back to the board").click()

    # Ten minutes later: the clear signal, in text and not by colour alone, on both boards.
    morning.shift(datetime.timedelta(minutes=10, seconds=30))
    expect(page.locator(row)).to_contain_text("Observation complete — sign out", timeout=8000)
    expect(page.locator(".time-up-box")).to_contain_text("Sign out Sam Taylor")
    expect(watcher.locator(row)).to_contain_text("Observation complete — sign out", timeout=8000)
    assert_accessible(page)
    screenshot(page, "dosing-board-time-up")

    page.get_by_role("link", name="Sign out patient: Sam Taylor").click()
    page.get_by_label("Well, left the clinic").check()
    assert_accessible(page)
    screenshot(page, "dosing-sign-out")
    page.get_by_role("button", name="Sign the patient out").click()
    expect(page.locator(row)).to_contain_text("Signed out")
    expect(watcher.locator(row)).to_contain_text("Signed out", timeout=8000)
    expect(watcher.locator("#board-announcer")).to_contain_text("Sam Taylor")
    screenshot(watcher, "dosing-board-watcher")
    other.close()


def test_the_slot_page_and_prescriber_pages_are_accessible(
    morning, page, sign_in, assert_accessible, screenshot, clinic, nurse, second_nurse, prescriber, keyworker
):
    slot = patient_with_slot(clinic, prescriber, keyworker, "Sam", "Taylor")
    given = check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 40))
    correction = services.correct_administration(
        administration=given, author=second_nurse, reason="Recorded 100 mg; 80 mg was drawn up and given",
        dose_mg=Decimal("80"), route="iv", injection_site="left_arm", given_at=given.given_at, witness=nurse,
        witness_password=PASSWORD, now=at(TODAY, 8, 55),
    )  # fmt: skip
    sign_in(page, prescriber)
    for url, name in (
        (f"/dosing/slots/{slot.pk}/", "dosing-slot"),
        (f"/dosing/slots/{slot.pk}/dose/", "dosing-dose-form"),
        (f"/dosing/administrations/{correction.pk}/correct/", "dosing-correction-form"),
        (f"/dosing/administrations/{correction.pk}/adverse-event/", "dosing-adverse-event-form"),
        (f"/dosing/patients/{slot.patient.pk}/prescriptions/", "dosing-prescriptions"),
        (f"/dosing/patients/{slot.patient.pk}/prescriptions/new/", "dosing-prescription-new"),
        ("/dosing/holds/", "dosing-holds"),
        ("/dosing/alerts/", "dosing-alerts"),
    ):
        page.goto(url)
        if name == "dosing-slot":
            expect(page.locator(".entry--replaced")).to_contain_text("100 mg")
            expect(page.locator(".entry--in-force")).to_contain_text("80 mg")
        assert_accessible(page)
        screenshot(page, name)
