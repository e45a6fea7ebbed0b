import io

import pytest
from django.core.management import CommandError, call_command

from partners.models import PartnerClient
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_the_command_creates_a_client_and_prints_its_secret_once(clinic):
    partner = PartnerFactory(clinics=[clinic])
    out = io.StringIO()

    call_command(
        "partner_client",
        "create",
        "--partner",
        str(partner.pk),
        "--clinic",
        clinic.code,
        "--scopes",
        "referrals:read",
        "referrals:write",
        stdout=out,
        stderr=io.StringIO(),
    )

    lines = dict(line.split(": ", 1) for line in out.getvalue().splitlines())
    client = PartnerClient.objects.get(client_id=lines["client_id"])
    assert (client.partner, client.clinic) == (partner, clinic)
    assert client.scopes == ["referrals:read", "referrals:write"]
    assert client.application.client_secret != lines["client_secret"]  # only the hash is kept


def test_the_command_revokes_a_client(clinic):
    partner = PartnerFactory(clinics=[clinic])
    out = io.StringIO()
    call_command(
        "partner_client",
        "create",
        "--partner",
        str(partner.pk),
        "--clinic",
        clinic.code,
        "--scopes",
        "referrals:read",
        stdout=out,
        stderr=io.StringIO(),
    )
    client_id = out.getvalue().splitlines()[0].removeprefix("client_id: ")

    call_command("partner_client", "revoke", client_id, stdout=io.StringIO())

    assert PartnerClient.objects.get(client_id=client_id).revoked_at is not None


def test_the_command_explains_bad_input(clinic):
    partner = PartnerFactory(clinics=[clinic])

    with pytest.raises(CommandError, match="no partner organisation with id 999999"):
        call_command(
            "partner_client", "create", "--partner", "999999", "--clinic", "mbro", "--scopes", "referrals:read"
        )
    with pytest.raises(CommandError, match="Only police and probation"):
        call_command(
            "partner_client", "create", "--partner", str(partner.pk), "--clinic", "mbro", "--scopes", "referrals:submit"
        )
    with pytest.raises(CommandError, match="no partner client with this client id"):
        call_command("partner_client", "revoke", "unknown")
