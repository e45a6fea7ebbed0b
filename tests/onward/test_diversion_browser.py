"""A keyworker records a diversion contract on the pages, sees the refusal of a bad one, and ends it."""

import datetime as dt

import pytest
from django.utils import timezone

from onward.models import DiversionContract
from tests.factories import PartnerFactory, PatientFactory
from tests.factories.referrals import consent_to_share

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"tablet-portrait": {"width": 768, "height": 1024}, "desktop": {"width": 1366, "height": 768}}


def test_a_keyworker_records_and_ends_a_diversion_contract(
    page, sign_in, assert_accessible, screenshot, clinic, keyworker
):
    police = PartnerFactory(name="Cleveland Police Checkpoint", kind="police", clinics=[clinic])
    PartnerFactory(name="Probation North East", kind="probation", clinics=[clinic])
    patient = PatientFactory(clinic=clinic, given_name="Lee", family_name="Harland", keyworker=keyworker)
    consent_to_share(patient, police, recorded_by=keyworker)
    today = timezone.localdate(timezone.now(), clinic.zone)
    sign_in(page, keyworker)

    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Diversion contracts").click()
    page.get_by_role("link", name="Record a contract").click()
    page.get_by_label("Partner", exact=True).select_option(label="Probation North East")  # no consent for this one
    page.get_by_label("The partner's reference").fill("PNE-77")
    page.get_by_label("Start date").fill(today.isoformat())
    page.get_by_label("End date").fill((today + dt.timedelta(days=90)).isoformat())
    page.get_by_label("At least N sessions attended a week").check()
    page.get_by_label("N", exact=True).fill("8")
    page.get_by_role("button", name="Record the contract").click()
    page.get_by_text("no data-sharing consent in force with Probation North East").first.wait_for()
    assert_accessible(page)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        screenshot(page, f"diversion-form-refused-{size}")

    page.get_by_label("Partner", exact=True).select_option(label="Cleveland Police Checkpoint")
    page.get_by_role("button", name="Record the contract").click()
    contract = DiversionContract.objects.get()
    page.locator("td", has_text=contract.reference).wait_for()
    assert_accessible(page)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        screenshot(page, f"diversion-list-{size}")

    page.get_by_label("Why the contract ends").fill("Completed the scheme.")
    page.get_by_role("button", name="End the contract").click()
    page.get_by_text("Ended").first.wait_for()
    contract.refresh_from_db()
    assert contract.is_ended
    assert_accessible(page)
