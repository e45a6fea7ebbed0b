import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from clinics.roles import Capability
from clinics.selectors import clinics_for
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_clinics_for_gives_a_member_only_their_own_active_clinics(nurse, clinic, other_clinic):
    assert list(clinics_for(nurse)) == [clinic]


def test_clinics_for_hides_a_clinic_that_has_closed(nurse, clinic):
    clinic.is_active = False
    clinic.save()

    assert list(clinics_for(nurse)) == []


def test_an_anonymous_user_is_sent_to_the_login_page(client, clinic):
    for url in ["/", reverse("clinic-detail", args=[clinic.pk])]:
        response = client.get(url)

        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_a_nurse_sees_her_own_clinic(client_for, nurse, clinic):
    response = client_for(nurse).get(reverse("clinic-detail", args=[clinic.pk]))

    assert response.status_code == 200
    assert "Middlesbrough HAT Clinic" in response.content.decode()


def test_a_nurse_of_clinic_a_gets_404_for_clinic_b(client_for, nurse, other_clinic):
    response = client_for(nurse).get(reverse("clinic-detail", args=[other_clinic.pk]))

    assert response.status_code == 404


def test_a_nurse_of_clinic_a_gets_404_for_clinic_b_through_the_api(client_for, nurse, clinic, other_clinic):
    api = client_for(nurse)

    assert api.get(f"/api/v1/clinics/{other_clinic.pk}/").status_code == 404
    assert [c["id"] for c in api.get("/api/v1/clinics/").json()["results"]] == [clinic.pk]


def test_a_nurse_cannot_switch_into_another_clinic(client_for, nurse, other_clinic):
    response = client_for(nurse).post(reverse("switch-clinic"), {"clinic": other_clinic.pk})

    assert response.status_code == 404


def test_staff_of_two_clinics_switch_between_them_in_the_header(client_for, commissioner, clinic, other_clinic):
    client = client_for(commissioner)
    assert client.get("/api/v1/me/").json()["current_clinic"] == other_clinic.pk  # first by name: Darlington

    response = client.post(reverse("switch-clinic"), {"clinic": clinic.pk, "next": "/"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/api/v1/me/").json()["current_clinic"] == clinic.pk


def test_switching_clinic_never_redirects_to_another_site(client_for, commissioner, clinic):
    response = client_for(commissioner).post(
        reverse("switch-clinic"), {"clinic": clinic.pk, "next": "https://evil.example/"}
    )

    assert response["Location"] == reverse("home")


def test_a_user_with_no_role_sees_a_clear_page_not_an_error(client_for, clinic):
    no_role = StaffFactory(roles=[], clinics=[clinic])

    response = client_for(no_role).get("/")

    assert response.status_code == 403
    assert "You have not been given a role" in response.content.decode()


def test_a_user_with_no_clinic_sees_a_clear_page_not_an_error(client_for):
    no_clinic = StaffFactory(roles=["nurse"], clinics=[])

    response = client_for(no_clinic).get("/")

    assert response.status_code == 403
    assert "You are not a member of any clinic" in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "heading"),
    [
        ("nurse", "Nursing"),
        ("prescriber", "Prescribing"),
        ("keyworker", "Keywork"),
        ("manager", "Running the clinic"),
        ("commissioner", "Commissioning"),
    ],
)
def test_each_role_has_its_own_home_page(request, client_for, persona, heading):
    user = request.getfixturevalue(persona)

    content = client_for(user).get("/").content.decode()

    assert f">{heading}</h2>" in content
    others = {"Nursing", "Prescribing", "Keywork", "Running the clinic", "Commissioning"} - {heading}
    assert not any(f">{other}</h2>" in content for other in others)


def test_the_api_refuses_an_anonymous_caller_with_a_problem_body(client):
    response = client.get("/api/v1/me/")

    assert response.status_code == 401  # not signed in: 401 with a challenge (issue 11, hole 16)
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "Authentication credentials were not provided."


def test_the_api_tells_who_is_signed_in(client_for, prescriber, clinic):
    body = client_for(prescriber).get("/api/v1/me/").json()

    assert body["roles"] == ["prescriber"]
    assert [c["code"] for c in body["clinics"]] == ["mbro"]


def test_may_act_needs_the_capability_at_that_very_clinic(nurse, other_nurse, keyworker, clinic):
    from clinics.access import may_act
    from clinics.roles import Capability

    assert may_act(nurse, Capability.RECORD_DOSES, clinic=clinic)
    assert not may_act(other_nurse, Capability.RECORD_DOSES, clinic=clinic)  # right role, wrong clinic
    assert not may_act(keyworker, Capability.RECORD_DOSES, clinic=clinic)  # right clinic, wrong role
    assert may_act(keyworker, Capability.RECORD_DOSES, Capability.HANDLE_REFERRALS, clinic=clinic)

    nurse.is_active = False
    assert not may_act(nurse, Capability.RECORD_DOSES, clinic=clinic)


def test_a_page_registered_for_two_capabilities_shows_once_in_the_navigation(clinic):
    from clinics.navigation import items_for
    from tests.factories import StaffFactory

    nurse_and_manager = StaffFactory(roles=["nurse", "clinic_manager"], clinics=[clinic])

    urls = [item["url"] for item in items_for(nurse_and_manager)]

    assert len(urls) == len(set(urls))


def test_permissions_come_from_roles_and_direct_grants_in_one_query(
    nurse, django_assert_num_queries, django_user_model
):
    nurse.user_permissions.add(Permission.objects.get(codename="view_clinic"))
    fresh = django_user_model.objects.get(pk=nurse.pk)
    with django_assert_num_queries(1):
        assert fresh.has_perm(Capability.RECORD_DOSES.perm)  # through the nurse role
        assert fresh.has_perm("clinics.view_clinic")  # granted directly
        assert not fresh.has_perm(Capability.PRESCRIBE.perm)


def test_every_response_says_how_long_the_server_took(client_for, nurse):
    response = client_for(nurse).get("/api/v1/me/")
    name, _, duration = response["Server-Timing"].partition(";dur=")
    assert name == "app" and float(duration) > 0
