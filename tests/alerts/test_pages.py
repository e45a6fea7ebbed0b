"""The staff pages and the banner on every page (issue 16, part 2)."""

import pytest
from django.urls import reverse

from alerts import services
from alerts.models import AlertAcknowledgement, AlertStatus, DrugAlert
from deliveries.models import OutboxMessage
from tests.alerts.conftest import NOW

pytestmark = pytest.mark.django_db

BANNER = "I have read this"


@pytest.fixture
def published(clinic, prescriber, alert_fields):
    return services.publish_new_alert(clinic=clinic, by=prescriber, **alert_fields)


def form_data(alert_fields, **changes):
    data = {**alert_fields, "valid_until": alert_fields["valid_until"].strftime("%Y-%m-%dT%H:%M"), **changes}
    return data


def test_the_banner_shows_to_two_staff_and_goes_for_the_one_who_acknowledges(client, published, nurse, second_nurse):
    for member in (nurse, second_nurse):
        client.force_login(member)
        for url in (reverse("home"), reverse("dosing-board"), reverse("alert-list")):
            page = client.get(url)
            assert page.status_code == 200, url
            assert BANNER in page.content.decode(), url
            assert "Heroin with nitazenes" in page.content.decode()

    client.force_login(nurse)
    acknowledged = client.post(reverse("alert-acknowledge", args=[published.pk]), {"next": reverse("dosing-board")})
    assert acknowledged.status_code == 302
    assert acknowledged["Location"] == reverse("dosing-board")
    assert BANNER not in client.get(reverse("dosing-board")).content.decode()
    assert AlertAcknowledgement.objects.get().user == nurse

    client.force_login(second_nurse)
    assert BANNER in client.get(reverse("dosing-board")).content.decode()


def test_the_banner_ends_when_the_alert_expires_or_is_withdrawn(client, published, prescriber, nurse, time_machine):
    client.force_login(nurse)
    services.withdraw_alert(alert=published, by=prescriber, reason="False alarm")
    assert BANNER not in client.get(reverse("home")).content.decode()

    services.publish_new_alert(clinic=published.clinic, by=prescriber, **{
        "substance": "Fentanyl sold as heroin", "valid_until": NOW.replace(hour=13)})  # fmt: skip
    assert BANNER in client.get(reverse("home")).content.decode()
    time_machine.move_to(NOW.replace(hour=13))
    assert BANNER not in client.get(reverse("home")).content.decode()


def test_another_clinics_staff_never_see_the_banner_nor_the_alert(client, published, other_nurse):
    client.force_login(other_nurse)

    assert BANNER not in client.get(reverse("home")).content.decode()
    assert client.get(reverse("alert-detail", args=[published.pk])).status_code == 404
    assert client.post(reverse("alert-acknowledge", args=[published.pk])).status_code == 404
    assert not AlertAcknowledgement.objects.exists()


def test_acknowledging_never_redirects_off_site(client, published, nurse):
    client.force_login(nurse)

    response = client.post(reverse("alert-acknowledge", args=[published.pk]), {"next": "https://evil.example/"})

    assert response["Location"] == reverse("alert-list")


def test_a_prescriber_publishes_from_the_page(client, prescriber, alert_fields, housing):
    client.force_login(prescriber)

    response = client.post(reverse("alert-publish"), form_data(alert_fields))

    alert = DrugAlert.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("alert-detail", args=[alert.pk])
    assert alert.status == AlertStatus.PUBLISHED
    assert OutboxMessage.objects.filter(kind="alert.published", partner=housing).count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"substance": ""}, "Name the substance"),
        ({"valid_until": "2026-12-01T09:00"}, "must hold until a moment in the future"),
        ({"valid_until": "not a date"}, "Enter the date and time as dd/mm/yyyy hh:mm (24-hour)"),
        ({"valid_until": ""}, "Say until when the alert holds"),
    ],
)
def test_bad_input_on_the_page_shows_the_field_error_and_writes_nothing(
    client, prescriber, alert_fields, changes, message
):
    client.force_login(prescriber)

    response = client.post(reverse("alert-publish"), form_data(alert_fields, **changes))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not DrugAlert.objects.exists()


@pytest.mark.parametrize("persona", ["nurse", "keyworker"])
def test_staff_who_may_not_publish_get_403_and_no_form(client, request, persona, alert_fields):
    client.force_login(request.getfixturevalue(persona))

    assert client.post(reverse("alert-publish"), form_data(alert_fields)).status_code == 403
    assert "Publish the alert" not in client.get(reverse("alert-list")).content.decode()
    assert not DrugAlert.objects.exists()


def test_a_nurse_cannot_withdraw_decline_or_publish_a_submission(client, published, nurse, clinic, alert_fields):
    from tests.factories import PartnerFactory

    police = PartnerFactory(name="Cleveland Police", kind="police", clinics=[clinic])
    submitted = services.partner_submit_alert(partner=police, clinic=clinic, **alert_fields)
    client.force_login(nurse)

    assert client.post(reverse("alert-withdraw", args=[published.pk]), {"reason": "x"}).status_code == 403
    assert client.post(reverse("alert-decline", args=[submitted.pk]), {"reason": "x"}).status_code == 403
    assert client.post(reverse("alert-publish-submitted", args=[submitted.pk])).status_code == 403
    published.refresh_from_db()
    submitted.refresh_from_db()
    assert (published.status, submitted.status) == (AlertStatus.PUBLISHED, AlertStatus.SUBMITTED)


def test_a_manager_reviews_a_partner_submission(client, manager, clinic, alert_fields):
    from tests.factories import PartnerFactory

    police = PartnerFactory(name="Cleveland Police", kind="police", clinics=[clinic])
    first = services.partner_submit_alert(partner=police, clinic=clinic, **alert_fields)
    second = services.partner_submit_alert(partner=police, clinic=clinic, **{**alert_fields, "substance": "Xylazine"})
    client.force_login(manager)
    listing = client.get(reverse("alert-list")).content.decode()
    assert "Sent in by partners, to review" in listing
    assert "Cleveland Police" in listing

    client.post(reverse("alert-publish-submitted", args=[first.pk]))
    refused = client.post(reverse("alert-decline", args=[second.pk]), {"reason": ""}, follow=True)
    assert "Say why the alert is declined" in refused.content.decode()
    client.post(reverse("alert-decline", args=[second.pk]), {"reason": "Not seen here."})

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == AlertStatus.PUBLISHED
    assert (second.status, second.decline_reason) == (AlertStatus.DECLINED, "Not seen here.")


def test_withdrawing_from_the_page_needs_a_reason(client, published, prescriber):
    client.force_login(prescriber)

    refused = client.post(reverse("alert-withdraw", args=[published.pk]), {"reason": ""}, follow=True)
    assert "Say why the alert is withdrawn" in refused.content.decode()
    client.post(reverse("alert-withdraw", args=[published.pk]), {"reason": "Lab result: ordinary heroin."})

    published.refresh_from_db()
    assert published.status == AlertStatus.WITHDRAWN


def test_the_detail_page_links_the_print_stylesheet_for_a_waiting_room_notice(client, published, nurse):
    client.force_login(nurse)

    page = client.get(reverse("alert-detail", args=[published.pk])).content.decode()

    assert 'media="print"' in page
    assert "alerts/alert_print" in page
    assert 'class="alert-notice' in page


def test_a_prescriber_corrects_a_published_alert_from_its_page(client, published, prescriber, alert_fields, housing):
    client.force_login(prescriber)
    url = reverse("alert-correct", args=[published.pk])
    fields = {f"correct-{name}": value for name, value in form_data(alert_fields).items()}

    refused = client.post(url, {**fields, "correct-substance": ""})
    assert refused.status_code == 400
    assert "Name the substance" in refused.content.decode()

    client.post(url, {**fields, "correct-area": "Stockton"})

    published.refresh_from_db()
    assert (published.area, published.version) == ("Stockton", 2)
    assert OutboxMessage.objects.filter(kind="alert.updated", partner=housing).count() == 1


def test_a_nurse_cannot_correct_from_the_page(client, published, nurse, alert_fields):
    client.force_login(nurse)
    fields = {f"correct-{name}": value for name, value in form_data(alert_fields, area="Nowhere").items()}

    assert client.post(reverse("alert-correct", args=[published.pk]), fields).status_code == 403
    assert "Send the correction" not in client.get(reverse("alert-detail", args=[published.pk])).content.decode()


def test_a_click_on_the_banner_of_a_version_since_corrected_does_not_hide_the_correction(
    client, published, nurse, manager
):
    client.force_login(nurse)
    banner = client.get(reverse("dosing-board")).content.decode()
    assert 'name="version" value="1"' in banner

    services.correct_alert(alert=published, by=manager, advice="Test every bag with a strip first.")  # page still open

    client.post(reverse("alert-acknowledge", args=[published.pk]), {"version": "1", "next": reverse("dosing-board")})
    page = client.get(reverse("dosing-board")).content.decode()
    assert BANNER in page and "Test every bag with a strip first." in page and "Updated" in page

    client.post(reverse("alert-acknowledge", args=[published.pk]), {"version": "2", "next": reverse("dosing-board")})
    assert BANNER not in client.get(reverse("dosing-board")).content.decode()


@pytest.mark.parametrize("version", ["3", "0", "²", "x"])
def test_acknowledging_a_version_that_does_not_exist_is_refused_with_a_message(client, published, nurse, version):
    client.force_login(nurse)
    response = client.post(reverse("alert-acknowledge", args=[published.pk]), {"version": version}, follow=True)
    assert response.status_code == 200
    assert "version" in response.content.decode()
    assert not AlertAcknowledgement.objects.exists()
