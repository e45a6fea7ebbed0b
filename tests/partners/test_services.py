import pytest
from django.core.exceptions import ValidationError
from oauth2_provider.models import AccessToken, Application

from partners.models import PartnerClient, PartnerKind
from partners.services import (
    partner_client_create,
    partner_client_revoke,
    partner_create,
    partner_update,
    partner_webhook_secret_rotate,
)
from partners.webhook_secrets import webhook_secret_bytes
from tests.factories import PartnerClientFactory, PartnerFactory

pytestmark = pytest.mark.django_db


def make(clinic, **fields):
    defaults = {"name": "Thirteen Housing", "kind": PartnerKind.HOUSING, "contact_email": "team@thirteen.example"}
    return partner_create(clinics=[clinic], **{**defaults, **fields})


def test_a_partner_with_a_webhook_gets_a_standard_webhooks_secret_once(clinic, manager):
    partner, secret = make(clinic, webhook_url="https://thirteen.example/hooks", created_by=manager)

    assert secret.startswith("whsec_")
    assert len(webhook_secret_bytes(secret)) == 32
    assert partner.webhook_secret == secret
    assert list(partner.clinics.all()) == [clinic]


def test_a_partner_without_a_webhook_gets_no_secret_until_it_has_one(clinic):
    partner, secret = make(clinic)
    assert secret == ""

    partner, secret = partner_update(
        partner=partner,
        name=partner.name,
        kind=partner.kind,
        contact_email=partner.contact_email,
        webhook_url="https://thirteen.example/hooks",
    )
    assert secret.startswith("whsec_")

    partner, again = partner_update(
        partner=partner,
        name=partner.name,
        kind=partner.kind,
        contact_email=partner.contact_email,
        webhook_url="https://thirteen.example/new-hooks",
    )
    assert again == ""  # a new address keeps the secret
    assert partner.webhook_secret == secret


def test_rotating_the_secret_replaces_it(clinic):
    partner, first = make(clinic, webhook_url="https://thirteen.example/hooks")

    second = partner_webhook_secret_rotate(partner=partner)

    partner.refresh_from_db()
    assert second != first
    assert partner.webhook_secret == second


def test_partner_create_names_each_bad_field(clinic):
    with pytest.raises(ValidationError) as caught:
        partner_create(name=" ", kind="bakery", contact_email="not-an-email", webhook_url="ftp://x", clinics=[])

    assert set(caught.value.message_dict) == {"name", "kind", "contact_email", "webhook_url"}


def test_partner_create_needs_a_clinic(clinic):
    with pytest.raises(ValidationError) as caught:
        partner_create(name="Thirteen", kind="housing", contact_email="a@b.example", clinics=[])

    assert "clinics" in caught.value.message_dict


def test_two_partners_cannot_share_a_name_whatever_the_case(clinic):
    make(clinic)

    with pytest.raises(ValidationError) as caught:
        make(clinic, name="thirteen housing")

    assert caught.value.message_dict == {"name": ["A partner organisation with this name already exists."]}


def test_webhooks_must_use_https_when_the_site_does(clinic, settings):
    settings.HTTPS = True

    with pytest.raises(ValidationError) as caught:
        make(clinic, webhook_url="http://thirteen.example/hooks")

    assert caught.value.message_dict["webhook_url"] == ["The webhook address must start with https://."]


def test_a_client_secret_is_returned_once_and_stored_hashed(clinic, manager):
    partner = PartnerFactory(clinics=[clinic])

    client_id, secret = partner_client_create(
        partner=partner, clinic=clinic, scopes=["referrals:read"], created_by=manager
    )

    application = Application.objects.get(client_id=client_id)
    assert application.hash_client_secret is True
    assert application.client_secret != secret
    assert application.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    client = PartnerClient.objects.get(client_id=client_id)
    assert client.application == application
    assert client.scopes == ["referrals:read"]
    assert client.created_by == manager


def test_scopes_must_be_known_and_at_least_one(clinic):
    partner = PartnerFactory(clinics=[clinic])

    for scopes in ([], ["referrals:delete"]):
        with pytest.raises(ValidationError) as caught:
            partner_client_create(partner=partner, clinic=clinic, scopes=scopes)
        assert "scopes" in caught.value.message_dict
    assert not PartnerClient.objects.exists()


def test_only_police_and_probation_may_submit_referrals(clinic):
    housing = PartnerFactory(clinics=[clinic], kind=PartnerKind.HOUSING)
    police = PartnerFactory(clinics=[clinic], kind=PartnerKind.POLICE)

    with pytest.raises(ValidationError):
        partner_client_create(partner=housing, clinic=clinic, scopes=["referrals:read", "referrals:submit"])
    client_id, _ = partner_client_create(partner=police, clinic=clinic, scopes=["referrals:submit", "referrals:read"])

    assert PartnerClient.objects.get(client_id=client_id).scope == "referrals:read referrals:submit"


def test_an_inactive_partner_gets_no_new_client(clinic):
    partner = PartnerFactory(clinics=[clinic], is_active=False)

    with pytest.raises(ValidationError) as caught:
        partner_client_create(partner=partner, clinic=clinic, scopes=["referrals:read"])

    assert "partner" in caught.value.message_dict


def test_revoking_deletes_the_application_and_its_tokens_and_keeps_the_record(clinic, manager):
    client = PartnerClientFactory(partner=PartnerFactory(clinics=[clinic]))
    application = client.application
    AccessToken.objects.create(
        application=application, token="t" * 40, expires="2030-01-01T00:00Z", scope="referrals:read"
    )

    revoked = partner_client_revoke(client_id=client.client_id, revoked_by=manager)

    assert revoked.revoked_by == manager
    assert revoked.application is None
    assert not Application.objects.filter(pk=application.pk).exists()
    assert not AccessToken.objects.exists()
    assert not PartnerClient.objects.active().exists()
    assert partner_client_revoke(client_id=client.client_id, revoked_by=None).revoked_by == manager  # idempotent


def test_revoking_an_unknown_client_names_the_field(db):
    with pytest.raises(ValidationError) as caught:
        partner_client_revoke(client_id="nope", revoked_by=None)

    assert "client_id" in caught.value.message_dict
