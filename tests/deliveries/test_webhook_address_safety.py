"""Issue 11, hole 15: a webhook may not reach the clinic's own network (loopback, link-local such as the
cloud metadata address 169.254.169.254, private ranges), neither when saved nor at delivery after
DNS resolution, and only https while HTTPS is on.

The local receiver (127.0.0.1) stands in for an inside service an attacker wants to reach; the
default settings allow no private network at all.
"""

import datetime

import pytest
from django.urls import reverse

from deliveries import services
from deliveries.models import MessageStatus, OutboxMessage
from partners.models import PartnerOrganisation
from partners.services import partner_create
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)

INSIDE = [
    "https://127.0.0.1/hooks",
    "https://localhost/hooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/hooks",
    "https://192.168.1.20/hooks",
    "https://172.16.0.1/hooks",
    "https://[::1]/hooks",
    "https://[fd00::1]/hooks",
    "https://0.0.0.0/hooks",
]


@pytest.fixture(autouse=True)
def _no_private_network_allowed(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []


@pytest.mark.parametrize("url", INSIDE)
def test_a_manager_cannot_save_a_webhook_to_the_inside(client_for, manager, clinic, url):
    response = client_for(manager).post(
        reverse("partner-create"),
        {
            "name": "Tees Employment",
            "kind": "employment",
            "contact_email": "jobs@tees.example",
            "webhook_url": url,
            "clinics": [clinic.pk],
        },
    )

    assert response.status_code == 200
    assert "private or local network" in response.content.decode()
    assert not PartnerOrganisation.objects.exists()


def test_an_edit_cannot_point_the_webhook_inside(client_for, manager, clinic):
    partner = PartnerFactory(name="Tees Employment", clinics=[clinic])

    response = client_for(manager).post(
        reverse("partner-edit", args=[partner.pk]),
        {
            "name": "Tees Employment",
            "kind": "employment",
            "contact_email": "jobs@tees.example",
            "webhook_url": "https://169.254.169.254/latest/",
            "clinics": [clinic.pk],
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    partner.refresh_from_db()
    assert partner.webhook_url == ""


def message_to(url, clinic, *, partner=None):
    """A waiting message to `url` (as if saved before this check existed, or its name now resolves inside)."""
    partner = partner or PartnerFactory(name="Tees Housing", clinics=[clinic])
    PartnerOrganisation.objects.filter(pk=partner.pk).update(webhook_url=url, webhook_secret="whsec_" + "A" * 44)
    return OutboxMessage.objects.create(
        kind="test.reminder",
        subject="A referral is waiting",
        body="b",
        webhook_url=url,
        partner=partner,
        clinic=clinic,
        due_at=T0,
        next_attempt_at=T0,
        status=MessageStatus.SENDING,
        claimed_by="c1",
        claimed_at=T0,
    )


def test_delivery_refuses_a_loopback_address_and_sends_nothing(clinic, webhook_receiver):
    message = message_to(webhook_receiver.url, clinic)

    outcome = services.deliver(message_id=message.pk, claim="c1", now=T0)

    assert outcome == "retry"
    assert webhook_receiver.received == []
    [attempt] = message.delivery_attempts.all()
    assert not attempt.ok and attempt.status_code is None
    assert "private or local network" in attempt.error
    assert "127.0.0.1" not in attempt.error and "Connection" not in attempt.error


def test_delivery_resolves_the_name_and_refuses_one_that_points_inside(clinic, webhook_receiver):
    port = webhook_receiver.url.split(":")[2].split("/")[0]
    message = message_to(f"http://localhost:{port}/hooks/hat", clinic)

    services.deliver(message_id=message.pk, claim="c1", now=T0)

    assert webhook_receiver.received == []
    assert "private or local network" in message.delivery_attempts.get().error


def test_delivery_refuses_plain_http_while_https_is_on(clinic, settings, webhook_receiver):
    settings.HTTPS = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # even to an allowed network
    message = message_to(webhook_receiver.url, clinic)

    services.deliver(message_id=message.pk, claim="c1", now=T0)

    assert webhook_receiver.received == []
    assert "https" in message.delivery_attempts.get().error


def test_an_allowed_private_network_is_delivered_to(clinic, settings, webhook_receiver):
    """An on-premises partner on a network the operator names in WEBHOOK_ALLOWED_NETWORKS."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    partner, _ = partner_create(
        name="Tees Housing", kind="housing", contact_email="t@tees.example", webhook_url=webhook_receiver.url,
        clinics=[clinic],
    )  # fmt: skip
    message = message_to(webhook_receiver.url, clinic, partner=partner)

    assert services.deliver(message_id=message.pk, claim="c1", now=T0) == "sent"
    assert len(webhook_receiver.received) == 1
