"""alert.published through a real Celery worker on the real Redis broker: once, with a valid signature."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from alerts import services
from deliveries.models import MessageStatus, OutboxMessage
from deliveries.tasks import dispatch_due_messages
from partners.services import partner_create
from tests.celery_worker import wait_for
from tests.deliveries.conftest import (  # noqa: F401  (fixtures shared with the outbox's own worker tests)
    _the_local_receiver_stands_in_for_a_partner,
    standard_webhooks_valid,
    webhook_receiver,
)

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def partner(clinic, webhook_receiver):  # noqa: F811
    partner, _secret = partner_create(
        name="Public Health South Tees",
        kind="public_health",
        contact_email="alerts@publichealth.example",
        webhook_url=webhook_receiver.url,
        clinics=[clinic],
    )
    return partner


def all_sent():
    return not OutboxMessage.objects.exclude(status=MessageStatus.SENT).exists()


def test_alert_published_is_delivered_once_with_a_valid_signature(
    celery_worker,
    partner,
    clinic,
    prescriber,
    webhook_receiver,  # noqa: F811
):
    alert = services.publish_new_alert(
        clinic=clinic,
        by=prescriber,
        substance="Heroin with nitazenes",
        severity="critical",
        valid_until=timezone.now() + dt.timedelta(days=7),
    )
    services.publish_alert(alert=alert, by=prescriber)  # a second press: no second message

    message = OutboxMessage.objects.get(kind="alert.published")
    wait_for(all_sent)
    dispatch_due_messages.delay()
    services.withdraw_alert(alert=alert, by=prescriber, reason="Lab test: ordinary heroin.")
    wait_for(lambda: len(webhook_receiver.received) >= 2)
    wait_for(all_sent)

    assert webhook_receiver.ids().count(message.webhook_id) == 1
    published, withdrawn = webhook_receiver.received
    assert standard_webhooks_valid(partner.webhook_secret, published.headers, published.body)
    assert json.loads(published.body)["data"]["substance"] == "Heroin with nitazenes"
    assert json.loads(withdrawn.body)["data"]["status"] == "withdrawn"
    assert json.loads(published.body)["type"] == "alert.published"
    assert json.loads(withdrawn.body)["type"] == "alert.withdrawn"
    assert len(webhook_receiver.received) == 2
