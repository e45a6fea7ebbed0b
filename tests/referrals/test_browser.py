"""A referral from intake, through assessment and prescriber sign-off, to the new patient's record."""

import re

import pytest
from django.utils import timezone

from referrals.models import Referral, ReferralStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_referral_goes_from_intake_to_a_patient_in_treatment(
    page, sign_in, assert_accessible, screenshot, keyworker, prescriber, clinic
):
    # The keyworker takes the referral in.
    sign_in(page, keyworker)
    page.get_by_role("link", name="Referral inbox").first.click()
    assert_accessible(page)
    page.get_by_role("link", name="Take a referral in").click()
    assert_accessible(page)
    screenshot(page, "referral-intake-empty")

    today = timezone.localdate()
    page.get_by_label("Source").select_option("police_diversion")
    page.get_by_label("Referring organisation").fill("Cleveland Police diversion scheme")
    page.get_by_label("Given name").fill("Lee")
    page.get_by_label("Family name").fill("Harland")
    page.get_by_label("Date of birth").fill(f"{today.year + 1}-05-09")  # a typing slip: in the future
    page.get_by_label("NHS number").fill("123 456 7890")  # wrong check digit
    page.get_by_label("Years of opioid dependence").fill("12")
    page.get_by_label("Months in current oral treatment").fill("9")
    page.get_by_label("Days injecting street heroin").fill("60")
    episode = page.get_by_role("group", name="Episode 1")
    episode.get_by_label("Started", exact=True).fill("2019-01-10")
    episode.get_by_label("Ended (optional)").fill("2019-09-01")
    episode.get_by_label("Why it ended").select_option("failed")
    page.get_by_label("Pregnant").select_option("false")
    page.get_by_role("button", name="Save referral").click()

    summary = page.get_by_role("alert")
    assert "Date of birth: The date of birth cannot be in the future." in summary.inner_text()
    assert "check digit" in page.locator("#id_nhs_number_error").inner_text()
    assert_accessible(page)
    screenshot(page, "referral-intake-errors")

    page.get_by_label("Date of birth").fill("1983-05-09")
    page.get_by_label("NHS number").fill("")
    page.get_by_role("button", name="Save referral").click()

    referral = Referral.objects.get()
    page.wait_for_url(re.compile(rf"/referrals/{referral.pk}/$"))
    assessment = page.get_by_role("table", name=re.compile("^Assessed on"))
    assert "1 criterion not met or not known" in assessment.inner_text()
    assert "Not yet asked about contraindicating conditions." in assessment.inner_text()
    assert_accessible(page)
    screenshot(page, "referral-detail-new")

    # Assessment and recommendation.
    page.get_by_role("button", name="Start assessment").click()
    page.get_by_text("Assessment started.").wait_for()
    page.get_by_label("Accept").check()
    page.get_by_label("Notes for the prescriber").fill("Contraindications to be checked at induction.")
    page.get_by_role("button", name="Send recommendation").click()
    page.get_by_text("Recommendation sent to the prescriber.").wait_for()
    assert page.get_by_role("button", name="Accept referral").count() == 0  # a keyworker cannot accept
    assert_accessible(page)
    screenshot(page, "referral-detail-recommended")

    # The prescriber signs it off, overriding the unknown criterion with a reason.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, prescriber)
    page.get_by_role("link", name="Referrals to sign off").first.click()
    assert_accessible(page)
    screenshot(page, "referrals-to-sign-off")
    page.get_by_role("link", name="Lee Harland").click()

    page.get_by_role("button", name="Accept referral").click()
    error = page.locator("#id_accept-override_reason_error")
    assert "Not every criterion is met: no exclusion (unknown)." in error.inner_text()
    assert_accessible(page)
    screenshot(page, "referral-accept-needs-override")

    page.get_by_label("Reason to accept although a criterion").fill("No contraindication on the GP summary.")
    page.get_by_role("button", name="Accept referral").click()

    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ACCEPTED
    page.wait_for_url(re.compile(rf"/patients/{referral.patient_id}/$"))
    assert page.get_by_role("heading", level=1).filter(has_text="Lee Harland").count() == 1
    assert_accessible(page)
    screenshot(page, "referral-accepted-patient-record")
