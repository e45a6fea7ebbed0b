"""The outbox through a real Celery worker on the real Redis broker, with real email and webhooks.

The worker process writes email to files (Django's file-based backend) and posts webhooks to
a receiver in this process, which checks each signature with its own implementation.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from deliveries import services
from deliveries.models import MessageStatus, OutboxMessage
from deliveries.tasks import dispatch_due_messages
from partners.models import PartnerOrganisation
from partners.services import partner_create
from tests.celery_worker import emails_with, wait_for
from tests.deliveries.conftest import standard_webhooks_valid

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def partner(clinic, webhook_receiver):
    partner, _secret = partner_create(
        name="Thirteen Housing",
        kind="housing",
        contact_email="team@thirteen.example",
        webhook_url=webhook_receiver.url,
        clinics=[clinic],
    )
    return partner


def enqueue_reminder(partner, clinic, **fields):
    with transaction.atomic():
        defaults = {
            "kind": "referral.not_acknowledged",
            "subject": "A referral is waiting for you",
            "body": "Please acknowledge the referral.",
            "payload": {"referral": "R-7"},
        }
        return services.enqueue_for_partner(partner=partner, clinic=clinic, **{**defaults, **fields})


def is_sent(message):
    def sent():
        return OutboxMessage.objects.filter(pk=message.pk, status=MessageStatus.SENT).exists()

    sent.__name__ = f"message {message.pk} sent"
    return sent


def test_a_reminder_goes_out_once_by_signed_webhook_and_email(worker, mail_dir, partner, clinic, webhook_receiver):
    message = enqueue_reminder(partner, clinic)  # after commit, a worker is asked to dispatch at once

    wait_for(is_sent(message))

    [request] = webhook_receiver.received
    assert request.path == "/hooks/hat"
    assert standard_webhooks_valid(partner.webhook_secret, request.headers, request.body)
    assert request.headers["webhook-id"] == message.webhook_id
    assert emails_with(mail_dir, message) == 1

    # A second dispatch run sends nothing new; a marker message shows that the run has happened.
    dispatch_due_messages.delay()
    marker = enqueue_reminder(partner, clinic, payload={"marker": True})
    wait_for(is_sent(marker))
    dispatch_due_messages.delay()
    wait_for(lambda: len(webhook_receiver.received) >= 2)

    assert webhook_receiver.ids().count(message.webhook_id) == 1
    assert emails_with(mail_dir, message) == 1
    assert len(webhook_receiver.received) == 2
    message.refresh_from_db()
    assert message.attempts == 1
    assert [a.ok for a in message.delivery_attempts.all()] == [True, True]


def test_a_change_committed_while_redis_is_down_sends_its_reminder_once_redis_is_back(
    worker, mail_dir, partner, clinic, webhook_receiver
):
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens there: the broker is unreachable
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "hat_clinic.settings",
    }
    change = textwrap.dedent(
        f"""
        import django
        django.setup()
        from django.db import transaction
        from deliveries.services import enqueue_for_partner
        from partners.models import PartnerOrganisation

        with transaction.atomic():
            partner = PartnerOrganisation.objects.select_for_update().get(pk={partner.pk})
            partner.contact_email = "referrals@thirteen.example"
            partner.save()
            enqueue_for_partner(
                partner=partner, kind="referral.not_acknowledged", subject="A referral is waiting for you",
                body="Please acknowledge the referral.", payload={{"referral": "R-8"}}, dedupe_key="redis-down",
            )
        print("committed")
        """
    )

    result = subprocess.run(
        [sys.executable, "-c", change], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "committed"
    assert "could not nudge the dispatcher (OperationalError)" in result.stderr
    assert PartnerOrganisation.objects.get(pk=partner.pk).contact_email == "referrals@thirteen.example"
    message = OutboxMessage.objects.get(dedupe_key="redis-down")
    assert message.status == MessageStatus.PENDING
    assert webhook_receiver.received == []

    dispatch_due_messages.delay()  # Redis is back: the next beat's dispatch
    wait_for(is_sent(message))
    dispatch_due_messages.delay()
    marker = enqueue_reminder(partner, clinic, payload={"marker": True})
    wait_for(is_sent(marker))

    assert webhook_receiver.ids().count(message.webhook_id) == 1
    assert standard_webhooks_valid(
        partner.webhook_secret, webhook_receiver.received[0].headers, webhook_receiver.received[0].body
    )
    assert emails_with(mail_dir, message) == 1
