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


def stored_expiry(client):
    from django.contrib.sessions.models import Session

    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_an_idle_session_is_renewed_at_most_once_a_minute(client_for, nurse, time_machine):
    time_machine.move_to("2026-11-18 09:00:00+00:00", tick=False)
    client = client_for(nurse)
    client.get("/")
    first_expiry = stored_expiry(client)
    assert first_expiry.isoformat() == "2026-11-18T09:30:00+00:00"  # 30 minutes idle and it ends

    time_machine.move_to("2026-11-18 09:00:30+00:00", tick=False)
    client.get("/")
    assert stored_expiry(client) == first_expiry  # 30 s later: no database write

    time_machine.move_to("2026-11-18 09:02:00+00:00", tick=False)
    client.get("/")
    assert stored_expiry(client).isoformat() == "2026-11-18T09:32:00+00:00"  # in use: the idle clock restarts


def test_the_clinic_manager_lifts_a_sign_in_pause_and_it_is_recorded(client, client_for, nurse, manager, settings):
    from clinics.models import SecurityEvent

    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": nurse.username, "password": "wrong-password"})
    manager_client = client_for(manager)
    assert "Paused" in manager_client.get(reverse("staff-security")).content.decode()

    lifted = manager_client.post(f"/clinic/security/{nurse.pk}/lift-sign-in-pause/", follow=True)

    assert "Nia" in lifted.content.decode() and "can sign in again" in lifted.content.decode()
    event = SecurityEvent.objects.get()
    assert (event.kind, event.subject, event.actor) == ("sign_in_unlocked", nurse, manager)
    manager_client.post(reverse("logout"))
    response = client.post(reverse("login"), {"username": nurse.username, "password": PASSWORD})
    assert response.status_code == 302


def test_a_manager_cannot_lift_the_pause_of_staff_of_another_clinic(client_for, manager, other_nurse):
    response = client_for(manager).post(f"/clinic/security/{other_nurse.pk}/lift-sign-in-pause/")

    assert response.status_code == 404


def test_an_administrator_resets_two_factor_through_the_admin_action_and_it_is_recorded(client, clinic, nurse):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from clinics.models import SecurityEvent
    from tests.factories import StaffFactory

    from .test_two_factor import code_for

    admin = StaffFactory(username="ada.admin", is_staff=True, is_superuser=True, clinics=[clinic])
    device = TOTPDevice.objects.create(user=admin, name="default", confirmed=True)
    TOTPDevice.objects.create(user=nurse, name="default", confirmed=True)
    client.post("/accounts/login/", {"username": admin.username, "password": PASSWORD})
    client.post("/accounts/login/", {"staff_login_view-current_step": "token", "token-otp_token": code_for(device)})

    response = client.post(
        "/admin/clinics/user/", {"action": "reset_two_factor", "_selected_action": [nurse.pk]}, follow=True
    )

    assert "two-factor sign-in reset" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    assert SecurityEvent.objects.get().actor == admin
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404  # no unaudited way round
