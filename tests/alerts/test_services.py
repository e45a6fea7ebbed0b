"""Drug alerts: who may publish, correct, withdraw, decline and acknowledge, and what partners are sent."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from alerts import services
from alerts.models import AlertAcknowledgement, AlertStatus, DrugAlert
from alerts.selectors import unacknowledged_alerts
from deliveries.models import OutboxMessage
from tests.alerts.conftest import NOW
from tests.factories import PartnerFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(clinic, prescriber, alert_fields, public_health, housing):
    return services.publish_new_alert(clinic=clinic, by=prescriber, **alert_fields)


def messages_of(alert, kind):
    return OutboxMessage.objects.filter(kind=kind, payload__id=alert.pk)


# --- Publishing ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["prescriber", "manager"])
def test_a_prescriber_or_a_clinic_manager_publishes_an_alert(request, persona, clinic, alert_fields):
    by = request.getfixturevalue(persona)

    alert = services.publish_new_alert(clinic=clinic, by=by, **alert_fields)

    assert alert.status == AlertStatus.PUBLISHED
    assert alert.published_by == by
    assert alert.published_at == NOW
    assert alert.version == 1


@pytest.mark.parametrize("persona", ["nurse", "keyworker", "commissioner", "other_nurse"])
def test_other_staff_cannot_publish_and_nothing_is_written(request, persona, clinic, alert_fields):
    by = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        services.publish_new_alert(clinic=clinic, by=by, **alert_fields)

    assert not DrugAlert.objects.exists()


def test_a_prescriber_of_another_clinic_cannot_publish_for_this_one(clinic, other_clinic, alert_fields):
    outsider = StaffFactory(roles=["prescriber"], clinics=[other_clinic])

    with pytest.raises(PermissionDenied):
        services.publish_new_alert(clinic=clinic, by=outsider, **alert_fields)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"substance": ""}, "substance"),
        ({"substance": "   "}, "substance"),
        ({"valid_until": NOW}, "valid_until"),
        ({"valid_until": NOW - dt.timedelta(minutes=1)}, "valid_until"),
        ({"valid_until": None}, "valid_until"),
        ({"severity": "apocalyptic"}, "severity"),
    ],
)
def test_an_alert_without_a_substance_or_expiring_in_the_past_is_refused_naming_the_field(
    change, field, clinic, prescriber, alert_fields, housing
):
    with pytest.raises(ValidationError) as refused:
        services.publish_new_alert(clinic=clinic, by=prescriber, **{**alert_fields, **change})

    assert field in refused.value.message_dict
    assert not DrugAlert.objects.exists()
    assert not OutboxMessage.objects.exists()


# --- Delivery to partners ---------------------------------------------------------------------


def test_publishing_writes_one_message_per_active_partner_of_the_clinic(
    clinic, other_clinic, prescriber, alert_fields, public_health, housing
):
    PartnerFactory(name="Gone Away", kind="housing", clinics=[clinic], is_active=False)
    PartnerFactory(name="Darlington Housing", kind="housing", clinics=[other_clinic])

    alert = services.publish_new_alert(clinic=clinic, by=prescriber, **alert_fields)

    sent = messages_of(alert, "alert.published")
    assert sorted(m.partner.name for m in sent) == ["Public Health South Tees", "Thirteen Housing"]
    message = sent.get(partner=housing)
    assert message.payload["substance"] == "Heroin with nitazenes"
    assert message.payload["status"] == "published"
    assert message.recipient_email == housing.contact_email
    assert "Blue-speckled brown powder" in message.body


def test_publishing_twice_still_sends_one_message_per_partner(published, prescriber, manager):
    services.publish_alert(alert=published, by=prescriber)
    services.publish_alert(alert=published, by=manager)

    published.refresh_from_db()
    assert published.published_by.username == "priya.prescriber"
    assert messages_of(published, "alert.published").count() == 2  # two partners, once each
    assert OutboxMessage.objects.count() == 2


def test_a_correction_sends_alert_updated_once_and_the_same_values_again_send_nothing(published, manager):
    services.correct_alert(alert=published, by=manager, area="Middlesbrough and Stockton")
    services.correct_alert(alert=published, by=manager, area="Middlesbrough and Stockton")

    published.refresh_from_db()
    assert published.area == "Middlesbrough and Stockton"
    assert published.version == 2
    updated = messages_of(published, "alert.updated")
    assert updated.count() == 2
    assert {m.payload["area"] for m in updated} == {"Middlesbrough and Stockton"}


def test_a_correction_is_validated_like_a_new_alert(published, manager):
    with pytest.raises(ValidationError) as refused:
        services.correct_alert(alert=published, by=manager, substance="")

    assert "substance" in refused.value.message_dict
    published.refresh_from_db()
    assert published.substance == "Heroin with nitazenes"
    assert not messages_of(published, "alert.updated").exists()


def test_withdrawing_sends_alert_withdrawn_once_and_needs_a_reason(published, prescriber):
    with pytest.raises(ValidationError) as refused:
        services.withdraw_alert(alert=published, by=prescriber, reason="  ")
    assert "reason" in refused.value.message_dict

    services.withdraw_alert(alert=published, by=prescriber, reason="Lab test: ordinary heroin.")
    services.withdraw_alert(alert=published, by=prescriber, reason="Again")

    published.refresh_from_db()
    assert published.status == AlertStatus.WITHDRAWN
    assert published.withdrawn_reason == "Lab test: ordinary heroin."
    withdrawn = messages_of(published, "alert.withdrawn")
    assert withdrawn.count() == 2
    assert {m.payload["status"] for m in withdrawn} == {"withdrawn"}


def test_a_withdrawn_alert_cannot_be_published_or_corrected_again(published, prescriber):
    services.withdraw_alert(alert=published, by=prescriber, reason="False alarm")

    with pytest.raises(ValidationError):
        services.publish_alert(alert=published, by=prescriber)
    with pytest.raises(ValidationError):
        services.correct_alert(alert=published, by=prescriber, area="Elsewhere")


@pytest.mark.parametrize("action", ["correct", "withdraw"])
def test_a_nurse_cannot_correct_or_withdraw(published, nurse, action):
    with pytest.raises(PermissionDenied):
        if action == "correct":
            services.correct_alert(alert=published, by=nurse, area="Nowhere")
        else:
            services.withdraw_alert(alert=published, by=nurse, reason="Nurse says no")

    published.refresh_from_db()
    assert published.status == AlertStatus.PUBLISHED
    assert published.version == 1


# --- Partner submissions -------------------------------------------------------------------


def test_a_public_health_partner_submits_and_a_prescriber_publishes_it(clinic, public_health, prescriber, alert_fields):
    alert = services.partner_submit_alert(partner=public_health, clinic=clinic, **alert_fields)
    assert alert.status == AlertStatus.SUBMITTED
    assert not OutboxMessage.objects.exists()

    services.publish_alert(alert=alert, by=prescriber)

    alert.refresh_from_db()
    assert alert.status == AlertStatus.PUBLISHED
    assert alert.submitted_by_partner == public_health
    assert messages_of(alert, "alert.published").get().partner == public_health


def test_a_housing_partner_cannot_submit(clinic, housing, alert_fields):
    with pytest.raises(PermissionDenied):
        services.partner_submit_alert(partner=housing, clinic=clinic, **alert_fields)


def test_a_partner_cannot_submit_to_a_clinic_it_does_not_work_with(other_clinic, public_health, alert_fields):
    with pytest.raises(PermissionDenied):
        services.partner_submit_alert(partner=public_health, clinic=other_clinic, **alert_fields)


def test_declining_needs_a_reason_and_sends_nothing(clinic, public_health, manager, nurse, alert_fields):
    alert = services.partner_submit_alert(partner=public_health, clinic=clinic, **alert_fields)
    with pytest.raises(PermissionDenied):
        services.decline_alert(alert=alert, by=nurse, reason="No")
    with pytest.raises(ValidationError) as refused:
        services.decline_alert(alert=alert, by=manager, reason="")
    assert "reason" in refused.value.message_dict

    services.decline_alert(alert=alert, by=manager, reason="Not seen locally.")

    alert.refresh_from_db()
    assert alert.status == AlertStatus.DECLINED
    assert alert.decline_reason == "Not seen locally."
    with pytest.raises(ValidationError):
        services.publish_alert(alert=alert, by=manager)
    assert not OutboxMessage.objects.exists()


def test_a_submission_expired_before_review_cannot_be_published(clinic, public_health, prescriber, alert_fields):
    alert = services.partner_submit_alert(
        partner=public_health, clinic=clinic, **{**alert_fields, "valid_until": NOW + dt.timedelta(hours=1)}
    )

    with pytest.raises(ValidationError) as refused:
        services.publish_alert(alert=alert, by=prescriber, now=NOW + dt.timedelta(hours=2))

    assert "valid_until" in refused.value.message_dict


# --- Acknowledging -------------------------------------------------------------------------


def test_acknowledging_twice_keeps_the_first(published, nurse):
    first = services.acknowledge_alert(alert=published, by=nurse)
    again = services.acknowledge_alert(alert=published, by=nurse, now=NOW + dt.timedelta(hours=1))

    assert again.pk == first.pk
    assert again.at == NOW
    assert AlertAcknowledgement.objects.count() == 1


def test_staff_of_another_clinic_cannot_acknowledge(published, other_nurse):
    with pytest.raises(PermissionDenied):
        services.acknowledge_alert(alert=published, by=other_nurse)
    assert not AlertAcknowledgement.objects.exists()


def test_a_corrected_alert_shows_again_to_staff_who_read_the_first_version(published, nurse, second_nurse, manager):
    services.acknowledge_alert(alert=published, by=nurse, now=NOW)
    assert unacknowledged_alerts(nurse, published.clinic, now=NOW) == []

    services.correct_alert(alert=published, by=manager, advice="Use the test strips before every use.", now=NOW)

    [shown] = unacknowledged_alerts(nurse, published.clinic, now=NOW)
    assert shown.advice == "Use the test strips before every use."
    services.acknowledge_alert(alert=published, by=nurse, now=NOW + dt.timedelta(minutes=5))
    assert unacknowledged_alerts(nurse, published.clinic, now=NOW) == []
    # Both reads are on record, each with the version that was read.
    versions = list(AlertAcknowledgement.objects.filter(user=nurse).values_list("version", flat=True))
    assert versions == [1, 2]
    assert len(unacknowledged_alerts(second_nurse, published.clinic, now=NOW)) == 1
