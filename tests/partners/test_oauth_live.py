"""Partner credentials through real HTTP: real OAuth2 tokens from /o/token/ against the live server."""

import datetime

import pytest
import requests
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from partners.services import partner_client_revoke
from tests.factories import PartnerClientFactory, PartnerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def partner(clinic):
    return PartnerFactory(name="Thirteen Housing", clinics=[clinic])


@pytest.fixture
def api_client(partner):
    return PartnerClientFactory(partner=partner, scopes=["referrals:read", "referrals:write"])


def get_token(server, client_id, secret, scope=None):
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return requests.post(f"{server.url}/o/token/", data=data, auth=(client_id, secret), timeout=10)


def get_me(server, token):
    return requests.get(f"{server.url}/api/v1/partner/me/", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_a_partner_gets_a_token_and_sees_who_it_is(live_server, partner, api_client):
    response = get_token(live_server, api_client.client_id, api_client.secret)

    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 900  # short-lived: PARTNER_TOKEN_SECONDS
    assert sorted(token["scope"].split()) == ["referrals:read", "referrals:write"]  # asked for none: all granted
    assert "refresh_token" not in token

    me = get_me(live_server, token["access_token"])

    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": partner.pk,
        "name": "Thirteen Housing",
        "kind": "housing",
        "scopes": ["referrals:read", "referrals:write"],
    }


def test_the_client_secret_is_stored_hashed_and_tokens_only_as_checksums(live_server, api_client):
    application = Application.objects.get(client_id=api_client.client_id)
    assert application.hash_client_secret is True
    assert application.client_secret != api_client.secret
    assert application.client_secret.startswith("pbkdf2_sha256$")

    access_token = get_token(live_server, api_client.client_id, api_client.secret).json()["access_token"]

    stored = AccessToken.objects.get(application=application)
    assert stored.token != access_token  # RFC 9700 token storage: no usable token at rest
    assert stored.user is None  # partners are machines, not users


def test_a_wrong_secret_gets_401_at_the_token_endpoint(live_server, api_client):
    response = get_token(live_server, api_client.client_id, api_client.secret + "x")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not AccessToken.objects.exists()


def test_a_client_asking_for_a_scope_it_was_not_granted_gets_no_token(live_server, partner):
    reader = PartnerClientFactory(partner=partner, scopes=["referrals:read"])

    response = get_token(live_server, reader.client_id, reader.secret, scope="referrals:read referrals:write")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert not AccessToken.objects.exists()


def test_a_client_may_ask_for_fewer_scopes_than_granted(live_server, api_client):
    response = get_token(live_server, api_client.client_id, api_client.secret, scope="referrals:read")

    assert response.json()["scope"] == "referrals:read"
    assert get_me(live_server, response.json()["access_token"]).json()["scopes"] == ["referrals:read"]


def test_no_token_or_an_unknown_token_gets_401_as_problem_details(live_server, api_client):
    anonymous = requests.get(f"{live_server.url}/api/v1/partner/me/", timeout=10)
    unknown = get_me(live_server, "not-a-token")

    for response in (anonymous, unknown):
        assert response.status_code == 401
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["status"] == 401
    assert unknown.json()["detail"] == "The access token is unknown, expired or revoked."


def test_a_revoked_client_is_refused_at_once(live_server, api_client):
    access_token = get_token(live_server, api_client.client_id, api_client.secret).json()["access_token"]
    assert get_me(live_server, access_token).status_code == 200

    partner_client_revoke(client_id=api_client.client_id, revoked_by=None)

    assert get_me(live_server, access_token).status_code == 401
    assert get_token(live_server, api_client.client_id, api_client.secret).status_code == 401


def test_an_expired_token_gets_401(live_server, api_client):
    access_token = get_token(live_server, api_client.client_id, api_client.secret).json()["access_token"]
    AccessToken.objects.update(expires=timezone.now() - datetime.timedelta(seconds=1))

    response = get_me(live_server, access_token)

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_an_inactive_partner_is_refused_at_once(live_server, partner, api_client):
    access_token = get_token(live_server, api_client.client_id, api_client.secret).json()["access_token"]

    partner.is_active = False
    partner.save()

    assert get_me(live_server, access_token).status_code == 401
    assert get_token(live_server, api_client.client_id, api_client.secret).status_code == 401


def test_a_token_without_the_needed_scope_gets_403(live_server, partner, settings):
    settings.ROOT_URLCONF = "tests.partners.urls"
    reader = PartnerClientFactory(partner=partner, scopes=["referrals:read"])
    writer = PartnerClientFactory(partner=partner, scopes=["referrals:read", "referrals:write"])
    read_token = get_token(live_server, reader.client_id, reader.secret).json()["access_token"]
    write_token = get_token(live_server, writer.client_id, writer.secret).json()["access_token"]

    def probe(token):
        headers = {"Authorization": f"Bearer {token}"}
        return requests.get(f"{live_server.url}/test-probe/write/", headers=headers, timeout=10)

    refused = probe(read_token)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert "referrals:write" in refused.json()["detail"]
    assert probe(write_token).status_code == 200


def test_a_staff_session_is_not_a_partner_token(live_server, client, manager):
    client.force_login(manager)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)

    assert session.get(f"{live_server.url}/api/v1/partner/me/", timeout=10).status_code == 401


def test_each_client_is_throttled_on_its_own_with_retry_after(live_server, partner, api_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "600/minute", "partner": "3/minute"},
    }
    other = PartnerClientFactory(partner=partner, scopes=["referrals:read"])
    token = get_token(live_server, api_client.client_id, api_client.secret).json()["access_token"]
    other_token = get_token(live_server, other.client_id, other.secret).json()["access_token"]

    answers = [get_me(live_server, token).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    limited = get_me(live_server, token)
    assert limited.headers["Content-Type"].startswith("application/problem+json")
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert get_me(live_server, other_token).status_code == 200  # another client has its own allowance
