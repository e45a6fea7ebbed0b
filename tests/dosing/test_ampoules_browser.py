"""The ampoules drawn, in a real browser on a tablet: chosen on the dose form with the keyboard, then a dose
correction that puts the controlled-drug register right, shown beside the dose records on the slot page.

Screenshots (test-artifacts/screenshots/): dosing-dose-form-ampoules, dosing-correction-form-refused,
dosing-correction-form-ampoules, dosing-slot-register-lines. axe-core: no serious or critical violation.
"""

from decimal import Decimal

import pytest
import time_machine
from playwright.sync_api import expect

from cd_register.models import EntryKind, Register, RegisterEntry
from dosing.models import Administration
from tests.factories.clinics import PASSWORD

from .conftest import TODAY, at, check
from .test_board_browser import patient_with_slot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD_FIELD = "Witness PIN (or password)"


@pytest.fixture
def morning():
    with time_machine.travel(at(TODAY, 9, 0), tick=True) as traveller:
        yield traveller


def test_the_nurse_chooses_the_ampoules_and_a_correction_puts_the_register_right(
    morning, page, sign_in, assert_accessible, screenshot, clinic, nurse, second_nurse, prescriber, keyworker
):
    slot = patient_with_slot(clinic, prescriber, keyworker, "Sam", "Taylor")
    check(slot, nurse, now=at(TODAY, 9, 0))
    register30 = Register.objects.get(clinic=clinic, drug="diamorphine_inj", strength_mg=30)
    sign_in(page, nurse)

    # The dose form: the proposal is shown; the nurse draws 3 x 30 mg + 1 x 10 mg instead, by keyboard.
    page.goto(f"/dosing/slots/{slot.pk}/dose/")
    expect(page.locator(".dose-box")).to_contain_text("From the controlled-drug register: 1 \u00d7 100 mg")
    page.get_by_label("Injection site").select_option("left_arm")
    page.get_by_label("Injection site").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("100 mg ampoules", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("30 mg ampoules", exact=True)).to_be_focused()
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    page.keyboard.type("1")
    page.get_by_label("Witness", exact=True).select_option(str(second_nurse.pk))
    page.get_by_label(PASSWORD_FIELD).fill(PASSWORD)
    assert_accessible(page)
    screenshot(page, "dosing-dose-form-ampoules")
    page.get_by_label(PASSWORD_FIELD).press("Enter")
    expect(page.locator(f"#slot-{slot.pk}")).to_contain_text("Under observation")
    given = Administration.objects.get(slot=slot)
    assert sorted(
        (int(e.register.strength_mg), e.quantity) for e in RegisterEntry.objects.filter(administration_ref=given.pk)
    ) == [(10, -1), (30, -3)]

    # The correction: first a draw the cupboard cannot cover (refused, nothing saved), then only the dose differs.
    page.goto(f"/dosing/slots/{slot.pk}/")
    page.get_by_role("link", name="Correct the dose record").click()
    expect(page.locator(".dose-box")).to_contain_text("3 \u00d7 30 mg + 1 \u00d7 10 mg drawn, no waste")
    page.get_by_label("Reason for the correction").fill("Drew up 100 mg, gave 80 mg; the rest was discarded")
    page.get_by_label("Dose really given (mg)").fill("80")
    Register.objects.filter(pk=register30.pk).update(balance=0)
    page.get_by_label("30 mg ampoules", exact=True).fill("4")
    page.get_by_label("Witness", exact=True).select_option(str(second_nurse.pk))
    page.get_by_label(PASSWORD_FIELD).fill(PASSWORD)
    page.get_by_role("button", name="Record the correction").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("No 30 mg diamorphine ampoules left in stock")
    expect(summary).to_be_focused()
    assert_accessible(page)
    screenshot(page, "dosing-correction-form-refused")
    assert not Administration.objects.filter(corrects=given).exists()
    Register.objects.filter(pk=register30.pk).update(balance=1997)

    page.get_by_label("30 mg ampoules", exact=True).fill("")
    page.get_by_label("10 mg ampoules", exact=True).fill("")
    page.get_by_label(PASSWORD_FIELD).fill(PASSWORD)
    assert_accessible(page)
    screenshot(page, "dosing-correction-form-ampoules")
    page.get_by_role("button", name="Record the correction").click()

    # The slot page: the dose records, and below them every register line of the dose, with the record it belongs to.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sam Taylor")
    correction = Administration.objects.get(corrects=given)
    waste = RegisterEntry.objects.get(administration_ref=correction.pk)
    assert (waste.kind, waste.register_id, waste.waste_mg) == (EntryKind.WASTE, register30.pk, Decimal(20))
    lines = page.locator(".register-lines")
    expect(lines).to_contain_text("20 mg wasted")
    expect(lines.locator("tbody tr")).to_have_count(3)
    assert_accessible(page)
    screenshot(page, "dosing-slot-register-lines")
