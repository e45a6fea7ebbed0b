"""The weekly diversion summary through a real Celery worker on the real Redis broker: once, signed,
and nothing after the patient withdraws consent."""

import datetime as dt
import json

import pytest

from deliveries.models import MessageStatus, OutboxMessage
from deliveries.tasks import dispatch_due_messages
from onward.diversion import services
from onward.diversion.api import WEEK_FIELDS
from partners.services import partner_create
from tests.celery_worker import wait_for
from tests.deliveries.conftest import (  # noqa: F401  (fixtures shared with the outbox's own worker tests)
    _the_local_receiver_stands_in_for_a_partner,
    standard_webhooks_valid,
    webhook_receiver,
)
from tests.factories import PatientFactory
from tests.factories.referrals import consent_to_share, withdraw_consent

from .test_diversion import WEEK, attend

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def all_sent():
    return not OutboxMessage.objects.exclude(status__in=[MessageStatus.SENT, MessageStatus.CANCELLED]).exists()


def test_the_weekly_summary_is_delivered_once_signed_and_none_after_withdrawal(
    celery_worker,
    clinic,
    keyworker,
    prescriber,
    webhook_receiver,  # noqa: F811
):
    police, _secret = partner_create(
        name="Cleveland Police Checkpoint",
        kind="police",
        contact_email="checkpoint@police.example",
        webhook_url=webhook_receiver.url,
        clinics=[clinic],
    )
    patient = PatientFactory(clinic=clinic, keyworker=keyworker)
    consent_to_share(patient, police, recorded_by=keyworker, at=dt.datetime(2026, 1, 10, tzinfo=dt.UTC))
    contract = services.diversion_contract_record(
        patient=patient,
        partner=police,
        partner_reference="CP-2026-0412",
        starts_on=dt.date(2026, 11, 2),
        ends_on=dt.date(2027, 2, 28),
        condition="sessions_per_week",
        condition_count=8,
        created_by=keyworker,
    )
    attend(patient, prescriber, [WEEK + dt.timedelta(days=n) for n in range(5)])

    monday = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    services.diversion_weekly_summaries(now=monday)
    services.diversion_weekly_summaries(now=monday + dt.timedelta(hours=1))  # the next hourly run: no second
    message = OutboxMessage.objects.get(kind="diversion.weekly_summary")
    wait_for(all_sent)
    dispatch_due_messages.delay()
    withdraw_consent(patient, police, recorded_by=keyworker)
    services.diversion_weekly_summaries(now=monday + dt.timedelta(days=7))
    dispatch_due_messages.delay()
    wait_for(all_sent)

    assert [m.kind for m in OutboxMessage.objects.filter(cancel_key=contract.cancel_key)] == [
        "diversion.weekly_summary"
    ]
    assert webhook_receiver.ids() == [message.webhook_id]
    (received,) = webhook_receiver.received
    # The worker signs on the real clock while this test's clock is pinned: check the signature at its own time.
    signed_at = int(received.headers["webhook-timestamp"])
    assert standard_webhooks_valid(police.webhook_secret, received.headers, received.body, now=signed_at)
    body = json.loads(received.body)
    assert body["type"] == "diversion.weekly_summary"
    assert body["data"]["attended"] is True and body["data"]["sessions_attended"] == 10
    assert set(body["data"]) == WEEK_FIELDS  # the webhook carries the documented week fields, nothing else
