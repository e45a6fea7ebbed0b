"""Onward-referral reminders through a real Celery worker on the real Redis broker (issue 6, done-when 2 and 3).

The worker (a separate process, on the real clock) writes email to files and posts webhooks to
a receiver in this process that checks each signature with its own Standard Webhooks code.
"""

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from deliveries.models import MessageStatus, OutboxMessage
from deliveries.tasks import dispatch_due_messages
from onward import services
from onward.models import OnwardReferral
from tests.celery_worker import emails_with, wait_for
from tests.deliveries.conftest import standard_webhooks_valid, webhook_receiver  # noqa: F401 (a fixture)
from tests.factories import PatientFactory
from tests.factories.referrals import consent_to_share, make_onward_referral

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _pinned_clock():
    """Not pinned here: the worker process runs on the real clock, so this test does too."""
    yield


@pytest.fixture
def partner(webhook_partner, webhook_receiver):  # noqa: F811
    return webhook_partner(webhook_receiver.url)


@pytest.fixture
def patient(clinic, keyworker, partner):
    patient = PatientFactory(
        clinic=clinic, given_name="Samantha", family_name="Taylor", phone="07700 900123", contact_route="phone"
    )
    consent_to_share(patient, partner, recorded_by=keyworker, at=timezone.now() - dt.timedelta(days=30))
    return patient


def state_is(message: OutboxMessage, *states):
    def reached():
        return OutboxMessage.objects.filter(pk=message.pk, status__in=states).exists()

    reached.__name__ = f"message {message.pk} {'/'.join(states)}"
    return reached


def a_week_ago() -> dt.datetime:
    """Referrals made a week ago: their not-acknowledged reminder is due now."""
    return timezone.now() - dt.timedelta(days=7)


def not_acknowledged(referral) -> OutboxMessage:
    return OutboxMessage.objects.get(cancel_key=referral.cancel_key, kind="referral.not_acknowledged")


def test_a_due_reminder_goes_out_once_by_signed_webhook_and_email(
    worker,
    mail_dir,
    partner,
    patient,
    keyworker,
    webhook_receiver,  # noqa: F811
):
    referral = make_onward_referral(patient=patient, partner=partner, created_by=keyworker, now=a_week_ago())
    reminder = not_acknowledged(referral)

    dispatch_due_messages.delay()  # the beat's minute
    wait_for(state_is(reminder, MessageStatus.SENT))

    [request] = [r for r in webhook_receiver.received if r.headers["webhook-id"] == reminder.webhook_id]
    assert standard_webhooks_valid(partner.webhook_secret, request.headers, request.body)
    assert referral.reference.encode() in request.body
    assert b"Samantha" not in request.body and b"Taylor" not in request.body  # the minimum: no name
    assert emails_with(mail_dir, reminder) == 1

    # A second run sends nothing new: a marker reminder, sent after it, shows the run has happened.
    dispatch_due_messages.delay()
    later = make_onward_referral(patient=patient, partner=partner, created_by=keyworker, now=a_week_ago())
    marker = not_acknowledged(later)
    dispatch_due_messages.delay()
    wait_for(state_is(marker, MessageStatus.SENT))

    assert webhook_receiver.ids().count(reminder.webhook_id) == 1
    assert emails_with(mail_dir, reminder) == 1
    reminder.refresh_from_db()
    assert reminder.attempts == 1


def test_a_reminder_for_a_referral_closed_or_acknowledged_meanwhile_is_not_sent(
    worker,
    mail_dir,
    partner,
    patient,
    keyworker,
    webhook_receiver,  # noqa: F811
):
    closed = make_onward_referral(patient=patient, partner=partner, created_by=keyworker, now=a_week_ago())
    acknowledged = make_onward_referral(patient=patient, partner=partner, created_by=keyworker, now=a_week_ago())
    services.onward_referral_close(referral=closed, outcome="declined_by_patient", by=partner)
    # Acknowledging does not touch the outbox: the worker's cancel_if hook sees it right before sending.
    services.onward_referral_acknowledge(referral=acknowledged, by=partner)

    dispatch_due_messages.delay()
    wait_for(state_is(not_acknowledged(acknowledged), MessageStatus.CANCELLED))

    assert not_acknowledged(closed).status == MessageStatus.CANCELLED
    assert not_acknowledged(acknowledged).cancel_reason == "The partner has acknowledged the referral."
    assert webhook_receiver.received == []
    assert emails_with(mail_dir, not_acknowledged(acknowledged)) == 0


def test_a_referral_made_while_redis_is_down_gets_its_reminder_once_redis_is_back(
    worker,
    mail_dir,
    partner,
    patient,
    keyworker,
    webhook_receiver,  # noqa: F811
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
        import datetime as dt
        import django
        django.setup()
        from django.utils import timezone
        from clinics.models import User
        from partners.models import PartnerOrganisation
        from patients.models import Patient
        from onward.services import onward_referral_create

        referral = onward_referral_create(
            patient=Patient.objects.get(pk={patient.pk}),
            partner=PartnerOrganisation.objects.get(pk={partner.pk}),
            need_kind="housing", need="Needs a tenancy.", contact_route="phone",
            created_by=User.objects.get(pk={keyworker.pk}),
            now=timezone.now() - dt.timedelta(days=7),
        )
        print(referral.reference)
        from deliveries.tasks import dispatch_due_messages
        try:  # what the beat would do now: it cannot reach the broker
            with dispatch_due_messages.app.connection_for_write(transport_options={{"max_retries": 0}}) as connection:
                dispatch_due_messages.apply_async(connection=connection, retry=False)
        except Exception as error:
            print("broker unreachable:", error.__class__.__name__)
        """
    )

    result = subprocess.run(
        [sys.executable, "-c", change], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    reference, broker = result.stdout.strip().splitlines()
    assert broker == "broker unreachable: OperationalError"
    referral = OnwardReferral.objects.get(reference=reference)
    reminder = not_acknowledged(referral)
    assert reminder.status == MessageStatus.PENDING
    assert webhook_receiver.received == []

    dispatch_due_messages.delay()  # Redis is back: the next beat
    wait_for(state_is(reminder, MessageStatus.SENT))
    dispatch_due_messages.delay()  # a second run sends nothing new; the marker shows it has happened
    marker = not_acknowledged(
        make_onward_referral(patient=patient, partner=partner, created_by=keyworker, now=a_week_ago())
    )
    dispatch_due_messages.delay()
    wait_for(state_is(marker, MessageStatus.SENT))

    assert webhook_receiver.ids().count(reminder.webhook_id) == 1
    assert emails_with(mail_dir, reminder) == 1
