import pytest
from django.urls import reverse

from partners.models import PartnerClient, PartnerOrganisation
from tests.factories import ClinicFactory, PartnerClientFactory, PartnerFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(clinic):
    return PartnerFactory(name="Thirteen Housing", clinics=[clinic])


@pytest.fixture
def other_manager(other_clinic):
    return StaffFactory(username="oscar.manager", roles=["clinic_manager"], clinics=[other_clinic])


def test_a_manager_sees_the_partners_of_her_clinics_only(client_for, manager, partner, other_clinic):
    PartnerFactory(name="Darlington Works", clinics=[other_clinic])

    page = client_for(manager).get(reverse("partner-list")).content.decode()

    assert "Thirteen Housing" in page
    assert "Darlington Works" not in page


def test_a_manager_of_another_clinic_gets_404_for_the_partner(client_for, other_manager, partner):
    client = client_for(other_manager)

    for url in (
        reverse("partner-detail", args=[partner.pk]),
        reverse("partner-edit", args=[partner.pk]),
        reverse("partner-client-create", args=[partner.pk]),
    ):
        assert client.get(url).status_code == 404
    assert client.post(reverse("partner-webhook-secret", args=[partner.pk])).status_code == 404


@pytest.mark.parametrize("persona", ["nurse", "keyworker", "commissioner"])
def test_other_roles_may_not_manage_partners(client_for, request, persona, partner):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(reverse("partner-list")).status_code == 403
    assert client.get(reverse("partner-detail", args=[partner.pk])).status_code == 403


def test_the_outsider_nurse_may_not_manage_partners(client_for, other_nurse, partner):
    assert client_for(other_nurse).get(reverse("partner-detail", args=[partner.pk])).status_code == 403


def test_a_manager_adds_a_partner_and_sees_the_webhook_secret_once(client_for, manager, clinic):
    client = client_for(manager)
    data = {
        "name": "Tees Employment",
        "kind": "employment",
        "contact_email": "jobs@tees.example",
        "webhook_url": "https://tees.example/hooks",
        "clinics": [clinic.pk],
    }

    response = client.post(reverse("partner-create"), data)

    partner = PartnerOrganisation.objects.get(name="Tees Employment")
    assert response.status_code == 200
    assert partner.webhook_secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert partner.webhook_secret not in client.get(reverse("partner-detail", args=[partner.pk])).content.decode()


def test_bad_partner_input_is_shown_on_the_form_and_nothing_is_saved(client_for, manager, partner, clinic):
    response = client_for(manager).post(
        reverse("partner-create"),
        {"name": "thirteen housing", "kind": "housing", "contact_email": "x@y.example", "clinics": [clinic.pk]},
    )

    assert response.status_code == 200
    assert "A partner organisation with this name already exists." in response.content.decode()
    assert PartnerOrganisation.objects.count() == 1


def test_editing_keeps_the_links_to_clinics_the_manager_does_not_run(client_for, clinic, other_clinic):
    third = ClinicFactory(name="Stockton HAT Clinic", code="stock")
    shared = PartnerFactory(name="Shared Housing", contact_email="a@b.example", clinics=[clinic, other_clinic])
    regional = StaffFactory(username="rhea.manager", roles=["clinic_manager"], clinics=[clinic, third])

    response = client_for(regional).post(
        reverse("partner-edit", args=[shared.pk]),
        {
            "name": "Shared Housing",
            "kind": "housing",
            "contact_email": "a@b.example",
            "clinics": [clinic.pk, third.pk],
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    assert set(shared.clinics.all()) == {clinic, other_clinic, third}


def test_a_manager_of_every_clinic_of_a_partner_renames_it(client_for, clinic, other_clinic):
    shared = PartnerFactory(name="Shared Housing", clinics=[clinic, other_clinic])
    regional = StaffFactory(username="rhea.manager", roles=["clinic_manager"], clinics=[clinic, other_clinic])

    response = client_for(regional).post(
        reverse("partner-edit", args=[shared.pk]),
        {
            "name": "Shared Housing Ltd",
            "kind": "housing",
            "contact_email": "a@b.example",
            "clinics": [clinic.pk, other_clinic.pk],
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    shared.refresh_from_db()
    assert shared.name == "Shared Housing Ltd"


def test_a_manager_creates_a_client_and_sees_its_secret_once(client_for, manager, partner):
    client = client_for(manager)

    response = client.post(
        reverse("partner-client-create", args=[partner.pk]), {"scopes": ["referrals:read"], "label": "CMS"}
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    api_client = PartnerClient.objects.get(partner=partner)
    assert api_client.client_id in page
    secret = page.split('spellcheck="false">')[-1].split("</textarea>")[0]
    assert len(secret) >= 40
    assert api_client.application.client_secret != secret
    assert secret not in client.get(reverse("partner-detail", args=[partner.pk])).content.decode()


def test_the_client_form_explains_a_missing_scope(client_for, manager, partner):
    response = client_for(manager).post(reverse("partner-client-create", args=[partner.pk]), {"label": "CMS"})

    assert "Choose at least one scope." in response.content.decode()
    assert not PartnerClient.objects.exists()


def test_a_manager_revokes_a_client(client_for, manager, partner):
    api_client = PartnerClientFactory(partner=partner)
    url = reverse("partner-client-revoke", args=[partner.pk, api_client.pk])
    client = client_for(manager)

    assert "Revoke this client" in client.get(url).content.decode()
    response = client.post(url)

    assert response.status_code == 302
    api_client.refresh_from_db()
    assert api_client.revoked_by == manager
    assert api_client.application is None


def test_a_manager_cannot_revoke_another_partners_client_through_her_partner(
    client_for, manager, partner, other_clinic
):
    foreign = PartnerClientFactory(partner=PartnerFactory(clinics=[other_clinic]))

    response = client_for(manager).post(reverse("partner-client-revoke", args=[partner.pk, foreign.pk]))

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_the_clinic_switcher_works_on_the_partner_page_for_a_manager_of_two_clinics(client, clinic, other_clinic):
    """Regression: the partner page overwrote the header's list of clinics; the switcher had empty options."""
    manager = StaffFactory(username="mo.manager", roles=["clinic_manager"], clinics=[clinic, other_clinic])
    partner = PartnerFactory(name="Shared Housing", clinics=[clinic, other_clinic])
    client.force_login(manager)

    page = client.get(reverse("partner-detail", args=[partner.pk])).content.decode()

    for shown in (clinic, other_clinic):
        assert f'<option value="{shown.pk}"' in page and shown.name in page
    switched = client.post(reverse("switch-clinic"), {"clinic": other_clinic.pk, "next": "/"})
    assert switched.status_code == 302
