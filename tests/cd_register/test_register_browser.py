"""Done when 4: in a real browser, receive stock, dose (through the register service for now), record the
waste, run a stock check with a discrepancy and close it; the register and its print view are screenshotted."""

from decimal import Decimal

import pytest

from cd_register import services
from cd_register.models import Discrepancy, DiscrepancyStatus, EntryKind
from tests.factories import PatientFactory, RegisterFactory
from tests.factories.clinics import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def witness(page, user):
    page.get_by_label("Witness's username").fill(user.username)
    page.get_by_label("Witness's PIN or password").fill(PASSWORD)


def test_receipt_dose_waste_stock_check_and_discrepancy(
    page, sign_in, assert_accessible, screenshot, clinic, manager, nurse, second_nurse
):
    register = RegisterFactory(clinic=clinic, strength_mg=Decimal(100), created_by=manager)
    patient = PatientFactory(clinic=clinic, given_name="Sam", family_name="Taylor")

    # The manager receives stock.
    sign_in(page, manager)
    page.get_by_role("link", name="CD register").first.click()
    assert_accessible(page)
    page.get_by_role("link", name="Diamorphine 100 mg").click()
    page.get_by_role("link", name="Record a receipt").click()
    page.get_by_label("Quantity received (ampoules)").fill("10")
    page.get_by_label("Supplier", exact=True).fill("Tees Hospital Pharmacy")
    page.get_by_label("Supplier's address").fill("Marton Road, Middlesbrough TS4 3BW")
    page.get_by_label("Batch number").fill("DM100-2291")
    page.get_by_label("Expiry date").fill("2028-03-31")
    witness(page, manager)  # a mistake first: the manager cannot witness their own receipt
    page.get_by_role("button", name="Record receipt").click()
    assert page.get_by_role("alert").get_by_text("Witness: must be another member of staff").is_visible()
    assert_accessible(page)
    screenshot(page, "cd_register_receipt_refused")
    witness(page, nurse)
    page.get_by_role("button", name="Record receipt").click()
    assert page.get_by_text("Receipt recorded.").is_visible()
    sign_out(page)

    # A 180 mg dose from 100 mg ampoules (dosing's administration calls this in its own transaction).
    services.draw_for_administration(
        clinic=clinic,
        drug="diamorphine_inj",
        dose_mg=180,
        patient=patient,
        administration_ref=1,
        made_by=nurse,
        witness=second_nurse,
    )

    # The nurse records the waste of a dropped ampoule and counts the cupboard.
    sign_in(page, nurse)
    page.goto(f"/register/{register.pk}/")
    page.get_by_role("link", name="Record waste").click()
    page.get_by_label("Amount wasted (mg)").fill("100")
    page.get_by_label("Whole ampoules broken or spoiled").fill("1")
    page.get_by_label("What happened").fill("Ampoule dropped and broke while opening")
    witness(page, second_nurse)
    assert_accessible(page)
    page.get_by_role("button", name="Record waste").click()
    assert page.get_by_text("Waste recorded.").is_visible()

    page.get_by_role("link", name="Stock check").click()
    page.get_by_label("Count in the cupboard (ampoules)").fill("6")  # the register says 7
    witness(page, second_nurse)
    assert_accessible(page)
    page.get_by_role("button", name="Record stock check").click()
    assert page.get_by_text("Discrepancy: counted 6 ampoules, the register says 7 ampoules").is_visible()
    sign_out(page)

    # The manager investigates and closes the discrepancy; it stays listed.
    sign_in(page, manager)
    page.get_by_role("link", name="CD discrepancies").first.click()
    page.get_by_role("heading", name="Stock discrepancies").wait_for()  # the new page, not the one it left
    assert_accessible(page)
    page.get_by_role("link", name="Investigate and close").click()
    page.get_by_label("Investigation note").fill(
        "One ampoule found in the sharps bin: broken, not entered. Staff reminded."
    )
    assert_accessible(page)
    page.get_by_role("button", name="Close discrepancy").click()
    assert page.get_by_text("Discrepancy closed.").is_visible()
    assert page.get_by_text("One ampoule found in the sharps bin").is_visible()
    screenshot(page, "cd_register_discrepancies")
    assert Discrepancy.objects.get().status == DiscrepancyStatus.CLOSED

    # The register, on screen and as it prints.
    page.goto(f"/register/{register.pk}/")
    rows = page.locator(".register-table tbody tr")
    assert rows.count() == 4
    assert "Administration: Sam Taylor" in rows.nth(1).inner_text()
    assert "Waste: 20 mg wasted, dose of Sam Taylor" in rows.nth(2).inner_text()
    assert_accessible(page)
    screenshot(page, "cd_register_page")
    page.emulate_media(media="print")
    assert not page.get_by_role("link", name="Record a receipt").is_visible()
    assert not page.locator(".main-nav").is_visible()
    assert page.locator(".register-table").is_visible()
    assert page.locator(".print-only").is_visible()
    screenshot(page, "cd_register_print")
    assert [e.kind for e in register.entries.order_by("sequence")] == [
        EntryKind.RECEIPT,
        EntryKind.ADMINISTRATION,
        EntryKind.WASTE,
        EntryKind.WASTE,
    ]
