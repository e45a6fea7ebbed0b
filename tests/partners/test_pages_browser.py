import pytest
import requests

from partners.models import PartnerClient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_adds_a_partner_gives_it_a_client_and_revokes_it(
    page, live_server, clinic, manager, sign_in, assert_accessible, screenshot
):
    sign_in(page, manager)
    page.get_by_role("link", name="Partners").first.click()
    page.get_by_role("link", name="Add a partner organisation").click()
    page.get_by_role("button", name="Save").click()  # nothing filled in: every problem is named
    assert page.get_by_role("alert").is_visible()
    assert_accessible(page)
    screenshot(page, "partner-form-errors")

    page.get_by_label("Organisation name").fill("Thirteen Housing")
    page.get_by_label("Kind of organisation").select_option("housing")
    page.get_by_label("Contact email").fill("team@thirteen.example")
    page.get_by_label("Webhook address").fill("https://thirteen.example/hooks")
    page.get_by_role("button", name="Save").click()

    secret = page.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    assert_accessible(page)
    screenshot(page, "partner-webhook-secret")
    page.get_by_role("link", name="I have copied it").click()

    page.get_by_role("link", name="Create a client").click()
    page.get_by_label("Which system uses it").fill("Case management")
    page.get_by_label("Read the onward referrals addressed to the organisation").check()
    page.get_by_role("button", name="Create client").click()
    client_id = page.get_by_label("Client id").input_value()
    client_secret = page.get_by_label("Client secret").input_value()
    assert_accessible(page)
    screenshot(page, "partner-client-secret")

    token = requests.post(
        f"{live_server.url}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(client_id, client_secret),
        timeout=10,
    )
    assert token.status_code == 200

    page.get_by_role("link", name="I have copied them").click()
    assert_accessible(page)
    screenshot(page, "partner-detail")
    page.get_by_role("link", name="Revoke").click()
    page.get_by_role("button", name="Revoke this client").click()

    assert "its tokens stopped working at once" in page.get_by_role("status").inner_text()
    assert PartnerClient.objects.get(client_id=client_id).revoked_at is not None
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert requests.get(f"{live_server.url}/api/v1/partner/me/", headers=headers, timeout=10).status_code == 401
