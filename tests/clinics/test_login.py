import pytest
from django.urls import reverse

from tests.factories.clinics import PASSWORD

pytestmark = pytest.mark.django_db

SAME_MESSAGE = "The username or password is not right. Please try again."


def test_signing_in_takes_a_nurse_to_her_home_page(client, nurse):
    response = client.post(reverse("login"), {"username": nurse.username, "password": PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("home")
    assert ">Nursing</h2>" in response.content.decode()


def test_a_failed_sign_in_gives_the_same_message_whatever_was_wrong(client, nurse):
    wrong_password = client.post(reverse("login"), {"username": nurse.username, "password": "wrong-password"})
    unknown_user = client.post(reverse("login"), {"username": "nobody-by-this-name", "password": PASSWORD})

    for response in (wrong_password, unknown_user):
        assert response.status_code == 200
        assert SAME_MESSAGE in response.content.decode()
    assert wrong_password.context["form"].errors == unknown_user.context["form"].errors


def test_an_inactive_account_gets_the_same_message_as_a_wrong_password(client, nurse):
    nurse.is_active = False
    nurse.save()

    response = client.post(reverse("login"), {"username": nurse.username, "password": PASSWORD})

    assert SAME_MESSAGE in response.content.decode()


def test_repeated_failures_lock_the_username_for_a_while(client, nurse, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": nurse.username, "password": "wrong-password"})

    response = client.post(reverse("login"), {"username": nurse.username, "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()


def test_signing_out_needs_a_post_and_ends_the_session(client_for, nurse):
    client = client_for(nurse)

    client.post(reverse("logout"))

    assert client.get("/").status_code == 302
