"""A keyworker's day with patient records, in a real browser on a tablet-sized screen."""

import datetime

import pytest

from patients import services
from patients.models import ConsentDecision, ConsentKind, Patient
from tests.factories import PatientFactory

from .conftest import TOP_ANSWERS, VALID_NHS, image_upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def caseload(clinic, keyworker, partner):
    alex = PatientFactory(
        clinic=clinic,
        given_name="Alex",
        family_name="Morgan",
        preferred_name="Al",
        date_of_birth=datetime.date(1980, 5, 17),
        nhs_number=VALID_NHS,
        keyworker=keyworker,
        gp_practice="Marton Medical Centre",
        episode__started_on=datetime.date(2026, 9, 1),
    )
    for given, family in [("Chris", "Evans"), ("Dee", "Harper"), ("Sam", "Lee")]:
        PatientFactory(clinic=clinic, given_name=given, family_name=family, keyworker=keyworker)
    services.consent_record(
        patient=alex, kind=ConsentKind.TREATMENT, decision=ConsentDecision.GIVEN, recorded_by=keyworker
    )
    services.consent_record(
        patient=alex,
        kind=ConsentKind.DATA_SHARING,
        partner=partner,
        decision=ConsentDecision.GIVEN,
        recorded_by=keyworker,
    )
    services.outcome_interview_record(
        patient=alex, recorded_by=keyworker, interviewed_on=datetime.date(2026, 9, 2), **TOP_ANSWERS
    )
    services.patient_photo_set(patient=alex, upload=image_upload(size=(300, 400)), set_by=keyworker)
    return alex


def test_keyworker_finds_a_patient_and_reads_the_record(
    page, keyworker, caseload, sign_in, assert_accessible, screenshot
):
    sign_in(page, keyworker)
    page.get_by_role("link", name="Patients", exact=True).first.click()
    assert page.get_by_role("heading", name="Patients").is_visible()
    assert_accessible(page)
    screenshot(page, "patients-list")

    page.get_by_label("Name or NHS number").fill("943 476")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("status").first.inner_text() == "1 patient found."
    assert_accessible(page)

    page.get_by_role("link", name="Morgan, Alex").click()
    assert page.get_by_role("heading", name="Alex Morgan (Al)").is_visible()
    photo = page.get_by_role("img", name="Photo of Alex Morgan (Al) for identification")
    page.wait_for_load_state("load")
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 300  # served by the view, re-encoded
    assert page.get_by_text("Data sharing with Tees Housing").first.is_visible()
    assert_accessible(page)
    screenshot(page, "patient-record")


def test_keyworker_registers_a_possible_duplicate_only_after_confirming(
    page, keyworker, caseload, sign_in, assert_accessible, screenshot
):
    sign_in(page, keyworker)
    page.goto("/patients/new/")
    page.get_by_label("Given name").fill("Alex")
    page.get_by_label("Family name").fill("Morgan")
    page.get_by_label("Date of birth").fill("1980-05-17")
    page.get_by_label("NHS number").fill("943 476 5918")
    page.get_by_role("button", name="Register patient").click()

    assert "NHS number is not valid" in page.get_by_role("alert").inner_text()
    assert_accessible(page)
    screenshot(page, "patient-register-errors")

    page.get_by_label("NHS number").fill("")
    page.get_by_role("button", name="Register patient").click()
    assert page.get_by_role("heading", name="This person may already be registered").is_visible()
    assert_accessible(page)
    screenshot(page, "patient-register-duplicate")

    page.get_by_label("I have checked the possible duplicates").check()
    page.get_by_role("button", name="Register patient").click()
    assert page.get_by_role("status").first.inner_text().startswith("Alex Morgan is registered")
    assert Patient.objects.filter(family_name="Morgan").count() == 2


def test_top_form_and_access_log(page, keyworker, manager, caseload, sign_in, assert_accessible, screenshot):
    sign_in(page, keyworker)
    page.goto(f"/patients/{caseload.pk}/outcomes/new/")
    page.get_by_label("Days used street heroin").fill("30")
    page.get_by_role("button", name="Save interview").click()
    assert (
        "Days used street heroin is a number of days in the last 28 days: from 0 to 28."
        in page.get_by_role("alert").inner_text()
    )
    assert_accessible(page)
    screenshot(page, "patient-top-errors")

    page.goto(f"/patients/{caseload.pk}/consents/new/")
    assert_accessible(page)
    screenshot(page, "patient-consent-form")

    page.context.clear_cookies()
    sign_in(page, manager)
    page.goto(f"/patients/{caseload.pk}/access-log/")
    assert page.get_by_role("cell", name="Outcome interviews (TOP)").first.is_visible()
    assert_accessible(page)
    screenshot(page, "patient-access-log")
