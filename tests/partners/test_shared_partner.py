"""Issue 11, hole 4: one partner organisation shared by two clinics. Each clinic's manager sees,
makes and revokes only the API clients issued for their own clinic (pages and command)."""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from partners.models import PartnerClient
from tests.factories import PartnerClientFactory, PartnerFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(clinic, other_clinic):
    """Tees Housing works with both clinics."""
    return PartnerFactory(name="Tees Housing", kind="housing", clinics=[clinic, other_clinic])


@pytest.fixture
def other_manager(other_clinic):
    return StaffFactory(username="oscar.manager", roles=["clinic_manager"], clinics=[other_clinic])


def make_client_on_page(client, partner, label="Case system") -> str:
    """A manager creates a client on the page; returns its client id (read off the page that shows it once)."""
    page = client.post(
        reverse("partner-client-create", args=[partner.pk]), {"label": label, "scopes": ["referrals:read"]}
    )
    assert page.status_code == 200, page.content
    return re.search(r'id="client-id"[^>]*value="([^"]+)"', page.content.decode()).group(1)


def test_a_client_made_by_a_manager_belongs_to_her_clinic(client_for, manager, shared, clinic):
    client_id = make_client_on_page(client_for(manager), shared)

    assert PartnerClient.objects.get(client_id=client_id).clinic == clinic


def test_a_manager_does_not_see_the_clients_of_the_other_clinic(client, manager, other_manager, shared):
    client.force_login(other_manager)
    theirs = make_client_on_page(client, shared, label="Darlington system")
    client.force_login(manager)
    mine = make_client_on_page(client, shared, label="Middlesbrough system")

    page = client.get(reverse("partner-detail", args=[shared.pk])).content.decode()

    assert mine in page
    assert theirs not in page
    assert "Darlington system" not in page


def test_a_manager_cannot_revoke_the_other_clinics_client(client, manager, other_manager, shared):
    client.force_login(other_manager)
    theirs = PartnerClient.objects.get(client_id=make_client_on_page(client, shared))
    client.force_login(manager)
    url = reverse("partner-client-revoke", args=[shared.pk, theirs.pk])

    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None and theirs.application_id is not None


def test_a_manager_of_both_clinics_chooses_the_clinic_of_a_new_client(client_for, shared, clinic, other_clinic):
    regional = StaffFactory(username="rhea.manager", roles=["clinic_manager"], clinics=[clinic, other_clinic])
    client = client_for(regional)
    url = reverse("partner-client-create", args=[shared.pk])

    missing = client.post(url, {"label": "x", "scopes": ["referrals:read"]})
    made = client.post(url, {"label": "x", "scopes": ["referrals:read"], "clinic": other_clinic.pk})

    assert missing.status_code == 200 and "Choose the clinic" in missing.content.decode()
    assert not PartnerClient.objects.filter(label="x", clinic=clinic).exists()
    assert PartnerClient.objects.get(label="x").clinic == other_clinic
    assert made.status_code == 200


def test_a_manager_cannot_issue_a_client_for_a_clinic_that_is_not_hers(client_for, manager, shared, other_clinic):
    response = client_for(manager).post(
        reverse("partner-client-create", args=[shared.pk]),
        {"label": "x", "scopes": ["referrals:read"], "clinic": other_clinic.pk},
    )

    assert response.status_code == 200  # the form again, with the error on the clinic
    assert not PartnerClient.objects.filter(clinic=other_clinic).exists()


def test_the_command_needs_the_clinic_and_the_partner_must_work_with_it(shared, clinic, other_clinic, capsys):
    lone = PartnerFactory(name="Only Darlington", clinics=[other_clinic])

    with pytest.raises(CommandError):
        call_command("partner_client", "create", "--partner", str(shared.pk), "--scopes", "referrals:read")
    with pytest.raises(CommandError, match="does not work with"):
        call_command(
            "partner_client", "create", "--partner", str(lone.pk), "--clinic", clinic.code, "--scopes", "referrals:read"
        )
    call_command(
        "partner_client", "create", "--partner", str(shared.pk), "--clinic", "darl", "--scopes", "referrals:read"
    )

    client_id = re.search(r"client_id: (\S+)", capsys.readouterr().out).group(1)
    assert PartnerClient.objects.get(client_id=client_id).clinic == other_clinic


def test_the_factory_default_clinic_is_the_partners_only_clinic(other_clinic):
    lone = PartnerFactory(name="Only Darlington", clinics=[other_clinic])

    assert PartnerClientFactory(partner=lone).clinic == other_clinic


def test_a_manager_of_one_clinic_cannot_change_the_shared_webhook_or_deactivate_the_partner(
    client_for, manager, shared
):
    client = client_for(manager)
    edit = {
        "name": "Tees Housing",
        "kind": "housing",
        "contact_email": "attacker@evil.example",
        "webhook_url": "https://evil.example/hooks",
        "clinics": [manager.clinics.get().pk],
    }

    changed = client.post(reverse("partner-edit", args=[shared.pk]), edit)
    rotated = client.post(reverse("partner-webhook-secret", args=[shared.pk]))

    shared.refresh_from_db()
    assert (shared.webhook_url, shared.contact_email, shared.is_active) == ("", shared.contact_email, True)
    assert shared.contact_email != "attacker@evil.example"
    assert changed.status_code == 200 and "another clinic" in changed.content.decode()
    assert rotated.status_code == 403
