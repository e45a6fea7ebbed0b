"""A keyworker makes an onward referral; the partner acknowledges it through the API; the keyworker sees it."""

import pytest
from django.utils import timezone

from deliveries.models import MessageStatus, OutboxMessage
from onward.models import OnwardReferral
from tests.factories import PartnerClientFactory
from tests.factories.referrals import make_onward_referral
from tests.onward.partner_http import PartnerSystem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_keyworker_sees_the_partners_acknowledgement_on_the_timeline(
    page, sign_in, assert_accessible, screenshot, live_server, keyworker, sharing_patient, housing
):
    sign_in(page, keyworker)
    page.goto(f"/referrals/onward/?patient={sharing_patient.pk}")
    assert_accessible(page)
    page.get_by_role("link", name="Make an onward referral").click()
    assert_accessible(page)

    page.get_by_role("button", name="Send the referral").click()  # nothing chosen: the form says what is missing
    assert page.get_by_role("alert").is_visible()
    assert_accessible(page)
    screenshot(page, "onward-referral-form-errors")

    page.get_by_label("Partner").select_option(label="Thirteen Housing")
    page.get_by_label("Kind of need").select_option("housing")
    page.get_by_label("What the patient needs").fill("Needs a tenancy: sofa-surfing since September.")
    page.get_by_label("Phone call").check()
    page.get_by_role("button", name="Send the referral").click()

    referral = OnwardReferral.objects.get()
    page.get_by_role("heading", name=referral.reference).wait_for()
    assert page.get_by_text("Samantha T.").is_visible()  # what the partner sees
    assert_accessible(page)
    screenshot(page, "onward-referral-sent")

    # The partner's system acknowledges it through the API, with a real token.
    partner = PartnerSystem(
        live_server, PartnerClientFactory(partner=housing, scopes=["referrals:read", "referrals:write"])
    )
    assert partner.change(referral.reference, "acknowledge").status_code == 200
    partner.post(f"/referrals/{referral.reference}/notes/", {"text": "Housing officer will call on Monday."})

    page.reload()
    timeline = page.get_by_role("region", name="Timeline")
    assert timeline.get_by_text("Thirteen Housing (partner)").first.is_visible()
    assert timeline.get_by_text("acknowledged").is_visible()
    assert timeline.get_by_text("Housing officer will call on Monday.").is_visible()
    assert_accessible(page)
    screenshot(page, "onward-referral-acknowledged")


def test_a_keyworker_resends_a_failed_reminder(
    page, sign_in, assert_accessible, screenshot, keyworker, sharing_patient, housing
):
    referral = make_onward_referral(patient=sharing_patient, partner=housing, created_by=keyworker)
    message = OutboxMessage.objects.get(cancel_key=referral.cancel_key, kind="referral.not_acknowledged")
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.FAILED,
        failed_at=timezone.now(),
        attempts=12,
        last_error="webhook: the endpoint answered HTTP 500",
    )

    sign_in(page, keyworker)
    page.get_by_role("link", name="Onward referrals").first.click()
    assert page.get_by_role("link", name=referral.reference).is_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Failed deliveries").first.click()
    assert page.get_by_text("HTTP 500").is_visible()
    assert_accessible(page)
    screenshot(page, "onward-failed-deliveries")
    page.get_by_role("button", name="Resend").click()

    assert page.get_by_text("will be sent again now").is_visible()
    assert page.get_by_text("No failed deliveries").is_visible()
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
