"""The outbox in one process: writing, claiming, delivering, retrying, cancelling, resending.

The worker's code runs here directly (with a pinned `now`); test_worker.py runs it through a
real Celery worker on Redis.
"""

import datetime
import itertools
import json

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.transaction import TransactionManagementError

from deliveries import services
from deliveries.models import DeliveryAttempt, MessageStatus, OutboxMessage
from deliveries.registry import cancel_if
from partners.services import partner_create
from tests.deliveries.conftest import standard_webhooks_valid
from tests.outbox import run_dispatch

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


@cancel_if("test.cause-gone.")
def _cause_gone(message):
    return "The referral is closed." if message.payload.get("closed") else None


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


def reminder(partner, clinic, **overrides):
    fields = {
        "partner": partner,
        "kind": "test.reminder",
        "subject": "A referral is waiting",
        "body": "Please acknowledge referral R-7.",
        "payload": {"referral": "R-7"},
        "clinic": clinic,
        "now": T0,
    }
    return services.enqueue_for_partner(**{**fields, **overrides})


def test_a_message_is_sent_by_email_and_signed_webhook(
    partner, clinic, webhook_receiver, django_capture_on_commit_callbacks
):
    message = reminder(partner, clinic)

    outcome = run_dispatch(django_capture_on_commit_callbacks, T0)

    assert outcome == {message.pk: "sent"}
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 1
    [email] = mail.outbox
    assert email.to == ["team@thirteen.example"]
    assert email.subject == "A referral is waiting"
    [request] = webhook_receiver.received
    assert standard_webhooks_valid(partner.webhook_secret, request.headers, request.body, now=T0.timestamp())
    assert request.headers["webhook-id"] == message.webhook_id
    assert json.loads(request.body) == {
        "type": "test.reminder",
        "timestamp": message.created_at.isoformat(),
        "data": {"referral": "R-7"},
    }
    assert [(a.channel, a.ok) for a in message.delivery_attempts.all()] == [("email", True), ("webhook", True)]


def test_a_signature_made_with_another_secret_does_not_verify(
    partner, clinic, webhook_receiver, django_capture_on_commit_callbacks
):
    reminder(partner, clinic)
    run_dispatch(django_capture_on_commit_callbacks, T0)
    [request] = webhook_receiver.received

    assert not standard_webhooks_valid("whsec_" + "A" * 44, request.headers, request.body, now=T0.timestamp())
    assert not standard_webhooks_valid(partner.webhook_secret, request.headers, request.body + b" ", now=T0.timestamp())


def test_a_second_dispatch_sends_nothing_new(partner, clinic, webhook_receiver, django_capture_on_commit_callbacks):
    message = reminder(partner, clinic)
    run_dispatch(django_capture_on_commit_callbacks, T0)

    assert run_dispatch(django_capture_on_commit_callbacks, T0 + datetime.timedelta(minutes=5)) == {}
    assert len(mail.outbox) == 1
    assert len(webhook_receiver.received) == 1
    assert DeliveryAttempt.objects.filter(message=message).count() == 2


def test_a_duplicate_delivery_task_sends_nothing(partner, clinic, webhook_receiver, django_capture_on_commit_callbacks):
    message = reminder(partner, clinic)
    with django_capture_on_commit_callbacks(execute=False):
        services.dispatch_due(now=T0)
    claim = OutboxMessage.objects.get(pk=message.pk).claimed_by

    assert services.deliver(message_id=message.pk, claim=claim, now=T0) == "sent"
    assert services.deliver(message_id=message.pk, claim=claim, now=T0) == "not-claimed"
    assert len(webhook_receiver.received) == 1


def test_a_message_being_sent_is_not_claimed_again(partner, clinic, django_capture_on_commit_callbacks):
    reminder(partner, clinic)
    with django_capture_on_commit_callbacks(execute=False) as first:
        assert services.dispatch_due(now=T0) == 1

    with django_capture_on_commit_callbacks(execute=False) as second:
        assert services.dispatch_due(now=T0 + datetime.timedelta(minutes=1)) == 0

    assert len(first) == 1
    assert second == []


def test_a_message_due_later_waits(partner, clinic, webhook_receiver, django_capture_on_commit_callbacks):
    message = reminder(partner, clinic, due_at=T0 + datetime.timedelta(days=1))

    assert run_dispatch(django_capture_on_commit_callbacks, T0) == {}
    assert run_dispatch(django_capture_on_commit_callbacks, T0 + datetime.timedelta(days=1)) == {message.pk: "sent"}


def test_enqueue_outside_a_transaction_is_refused(partner, clinic):
    # Under django_db the test already runs in a transaction: leave it to see the refusal.
    connection = transaction.get_connection()
    atomic_blocks, connection.in_atomic_block = connection.in_atomic_block, False
    try:
        with pytest.raises(TransactionManagementError, match="inside the transaction"):
            reminder(partner, clinic)
    finally:
        connection.in_atomic_block = atomic_blocks


def test_a_message_of_a_rolled_back_change_does_not_exist(partner, clinic):
    with pytest.raises(RuntimeError), transaction.atomic():
        reminder(partner, clinic)
        raise RuntimeError("the change failed")

    assert not OutboxMessage.objects.exists()


def test_a_message_needs_a_channel_and_a_partner_for_a_webhook(clinic):
    with pytest.raises(ValidationError) as caught:
        services.enqueue(kind="test.x", subject="s", body="b")
    assert "recipient_email" in caught.value.message_dict

    with pytest.raises(ValidationError) as caught:
        services.enqueue(kind="test.x", subject="s", body="b", webhook_url="https://x.example/")
    assert "partner" in caught.value.message_dict


def test_the_same_dedupe_key_gives_the_same_message(partner, clinic, django_capture_on_commit_callbacks):
    first = reminder(partner, clinic, dedupe_key="referral:7:not-acknowledged:day-2")
    run_dispatch(django_capture_on_commit_callbacks, T0)

    again = reminder(partner, clinic, dedupe_key="referral:7:not-acknowledged:day-2")

    assert again.pk == first.pk
    assert OutboxMessage.objects.count() == 1


def test_a_cancelled_message_is_not_sent_and_frees_its_dedupe_key(
    partner, clinic, webhook_receiver, django_capture_on_commit_callbacks
):
    message = reminder(partner, clinic, cancel_key="referral:7", dedupe_key="referral:7:reminder")

    assert services.cancel_messages(cancel_key="referral:7", reason="The referral was closed.") == 1

    assert run_dispatch(django_capture_on_commit_callbacks, T0) == {}
    assert webhook_receiver.received == []
    assert mail.outbox == []
    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED
    assert reminder(partner, clinic, dedupe_key="referral:7:reminder").pk != message.pk


def test_the_cancel_if_hook_stops_a_message_already_claimed(
    partner, clinic, webhook_receiver, django_capture_on_commit_callbacks
):
    message = reminder(partner, clinic, kind="test.cause-gone.reminder", payload={"closed": False})
    with django_capture_on_commit_callbacks(execute=False):
        services.dispatch_due(now=T0)
    # The cause goes away after the dispatcher claimed the message, before the worker sends it.
    OutboxMessage.objects.filter(pk=message.pk).update(payload={"closed": True})

    assert (
        services.deliver(message_id=message.pk, claim=OutboxMessage.objects.get(pk=message.pk).claimed_by, now=T0)
        == "cancelled"
    )

    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED
    assert message.cancel_reason == "The referral is closed."
    assert webhook_receiver.received == []
    assert not DeliveryAttempt.objects.exists()


def test_a_message_to_an_inactive_partner_is_cancelled(
    partner, clinic, webhook_receiver, django_capture_on_commit_callbacks
):
    message = reminder(partner, clinic)
    partner.is_active = False
    partner.save()

    assert run_dispatch(django_capture_on_commit_callbacks, T0) == {message.pk: "cancelled"}
    assert webhook_receiver.received == []


def test_a_failing_webhook_is_retried_with_backoff_and_the_email_is_not_repeated(
    partner, clinic, webhook_receiver, django_capture_on_commit_callbacks
):
    webhook_receiver.status = 500
    message = reminder(partner, clinic)

    assert run_dispatch(django_capture_on_commit_callbacks, T0) == {message.pk: "retry"}
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert message.next_attempt_at == T0 + datetime.timedelta(minutes=1)
    assert message.last_error == "webhook: the endpoint answered HTTP 500"
    assert run_dispatch(django_capture_on_commit_callbacks, T0 + datetime.timedelta(seconds=30)) == {}  # not yet

    second = T0 + datetime.timedelta(minutes=1)
    assert run_dispatch(django_capture_on_commit_callbacks, second) == {message.pk: "retry"}
    message.refresh_from_db()
    assert message.next_attempt_at == second + datetime.timedelta(minutes=2)

    webhook_receiver.status = 200
    assert run_dispatch(django_capture_on_commit_callbacks, message.next_attempt_at) == {message.pk: "sent"}
    assert len(mail.outbox) == 1  # the email went the first time and is never repeated
    attempts = [(a.channel, a.ok, a.status_code) for a in message.delivery_attempts.all()]
    assert attempts == [
        ("email", True, None),
        ("webhook", False, 500),
        ("webhook", False, 500),
        ("webhook", True, 200),
    ]


def test_after_24_hours_of_failures_a_message_is_failed_and_may_be_resent(
    partner, clinic, keyworker, other_nurse, webhook_receiver, django_capture_on_commit_callbacks
):
    webhook_receiver.status = 503
    message = reminder(partner, clinic)
    now, outcomes = T0, []
    while not outcomes or outcomes[-1] == "retry":
        outcomes.extend(run_dispatch(django_capture_on_commit_callbacks, now).values())
        message.refresh_from_db()
        now = message.next_attempt_at

    assert outcomes[-1] == "failed"
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.failed_at - T0 >= datetime.timedelta(hours=24)
    assert message.failed_at - T0 < datetime.timedelta(hours=25)
    webhook_tries = list(message.delivery_attempts.filter(channel="webhook").values_list("started_at", flat=True))
    gaps = [b - a for a, b in itertools.pairwise(webhook_tries)]
    assert gaps[:4] == [datetime.timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(gaps) == datetime.timedelta(hours=1)
    assert message.attempts == len(webhook_tries)
    assert run_dispatch(django_capture_on_commit_callbacks, now + datetime.timedelta(hours=1)) == {}

    with pytest.raises(PermissionDenied):
        services.resend(message=message, resent_by=other_nurse)

    webhook_receiver.status = 204
    services.resend(message=message, resent_by=keyworker, now=now)
    assert run_dispatch(django_capture_on_commit_callbacks, now) == {message.pk: "sent"}
    message.refresh_from_db()
    assert message.resent_by == keyworker
    assert len({r.headers["webhook-id"] for r in webhook_receiver.received}) == 1  # one message, many tries


def test_a_webhook_that_hangs_does_not_hold_the_worker_beyond_the_timeout(
    partner, clinic, webhook_receiver, settings, django_capture_on_commit_callbacks
):
    settings.DELIVERY_WEBHOOK_TIMEOUT = (1.0, 1.0)
    webhook_receiver.delay = 3
    message = reminder(partner, clinic)

    assert run_dispatch(django_capture_on_commit_callbacks, T0) == {message.pk: "retry"}

    attempt = message.delivery_attempts.get(channel="webhook")
    assert not attempt.ok
    assert "Timeout" in attempt.error
    assert attempt.duration_ms < (1.0 + 1.0 + 1.5) * 1000  # a bound from the timeouts, not a speed target


def test_a_webhook_without_a_signing_secret_is_logged_as_failed(
    partner, clinic, webhook_receiver, django_capture_on_commit_callbacks
):
    partner.webhook_secret = ""
    partner.save()
    message = reminder(partner, clinic)

    assert run_dispatch(django_capture_on_commit_callbacks, T0) == {message.pk: "retry"}
    assert message.delivery_attempts.get(channel="webhook").error == "the partner has no webhook signing secret"
    assert webhook_receiver.received == []


def test_a_claim_left_by_a_dead_worker_is_given_back(
    partner, clinic, webhook_receiver, django_capture_on_commit_callbacks
):
    message = reminder(partner, clinic)
    with django_capture_on_commit_callbacks(execute=False):
        services.dispatch_due(now=T0)  # claimed, but the worker never comes
    dead_claim = OutboxMessage.objects.get(pk=message.pk).claimed_by

    assert run_dispatch(django_capture_on_commit_callbacks, T0 + datetime.timedelta(minutes=5)) == {}  # still claimed
    later = T0 + services.STALE_CLAIM_AFTER + datetime.timedelta(minutes=1)
    assert run_dispatch(django_capture_on_commit_callbacks, later) == {message.pk: "sent"}
    assert services.deliver(message_id=message.pk, claim=dead_claim, now=later) == "not-claimed"
    assert len(webhook_receiver.received) == 1


def test_delivery_attempts_are_never_changed_or_deleted(partner, clinic, django_capture_on_commit_callbacks):
    reminder(partner, clinic)
    run_dispatch(django_capture_on_commit_callbacks, T0)
    attempt = DeliveryAttempt.objects.first()

    with pytest.raises(ValueError, match="a log"):
        attempt.save()
    with pytest.raises(ValueError, match="a log"):
        attempt.delete()


def test_dispatch_through_celery_hands_claimed_messages_to_the_delivery_task(
    partner, clinic, webhook_receiver, django_capture_on_commit_callbacks
):
    """The eager path (embedded mode): dispatch queues deliver_message after commit, which sends."""
    message = reminder(partner, clinic, now=None)

    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch_due()

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(webhook_receiver.received) == 1
