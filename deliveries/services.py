"""The outbox: write a message with the change that causes it; deliver it once, after commit.

Life of a message (healthchecks' sendalerts and pretix's after-commit tasks are the models):

1. `enqueue(...)` inside the caller's transaction: the row commits with the change or not at
   all. Nothing talks to Redis before the commit; after it, a best-effort nudge asks a worker
   to dispatch now. If Redis is down the row simply waits for the next dispatch.
2. `dispatch_due()` (beat, every minute): puts stale claims back, then claims due rows with a
   conditional UPDATE ... WHERE status='pending' (row locks skipped, so two dispatchers never
   claim one row) and, after commit, queues `deliver_message(id, claim)` for each.
3. `deliver(message_id=, claim=)` (worker): takes the claim over with another conditional
   UPDATE (a duplicate task finds nothing to take and stops), asks the `cancel_if` hooks,
   sends by each channel not yet done, logs every attempt, and either marks the row sent or
   schedules a retry with exponential backoff; after RETRY_WINDOW of failures it is failed,
   shown to staff, who may `resend` it.
Side effects happen after claiming and are recorded per channel at once, so a retry never
repeats a channel that worked; a sent message is never sent again.
"""

import json
import logging
import time
import uuid
from datetime import timedelta

import requests
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.core.mail.utils import DNS_NAME
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from clinics.access import has_capability
from clinics.roles import Capability
from clinics.selectors import clinics_for
from partners.models import PartnerOrganisation

from .models import Channel, DeliveryAttempt, MessageStatus, OutboxMessage
from .registry import cancel_reason_for
from .signing import signed_headers
from .webhook_transport import UnsafeWebhookAddress, post_checked

logger = logging.getLogger(__name__)

RETRY_WINDOW = timedelta(hours=24)
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=1)
# A claim older than this belongs to a worker that died: longer than any task may run.
STALE_CLAIM_AFTER = max(timedelta(minutes=15), timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60))
DISPATCH_BATCH = 500
ERROR_MAX_CHARS = 1000


def webhook_timeout() -> tuple[float, float]:
    """(connect, read) seconds: a slow or dead endpoint holds a worker for seconds, not minutes."""
    return getattr(settings, "DELIVERY_WEBHOOK_TIMEOUT", (5.0, 10.0))


def backoff(attempts: int) -> timedelta:
    """After the n-th failed attempt wait 1, 2, 4, 8 ... minutes, at most an hour."""
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


# --- Writing messages (inside the caller's transaction) -------------------------------------


def enqueue(
    *,
    kind: str,
    subject: str,
    body: str,
    payload: dict | None = None,
    recipient_email: str = "",
    webhook_url: str = "",
    partner: PartnerOrganisation | None = None,
    clinic=None,
    due_at=None,
    dedupe_key: str | None = None,
    cancel_key: str = "",
    now=None,
) -> OutboxMessage:
    """Write a message to send at `due_at` (default: now). Call it inside the transaction of the change.

    With a `dedupe_key`, a second call with the same key returns the first message (unless that
    one was cancelled) instead of writing another. `cancel_key` groups the messages about one
    thing, for `cancel_messages`.
    """
    if not transaction.get_connection().in_atomic_block:
        raise TransactionManagementError(
            "enqueue() must run inside the transaction that makes the change (transactional outbox)."
        )
    errors = {}
    if not kind:
        errors["kind"] = "Name the kind of message."
    if not (subject or "").strip():
        errors["subject"] = "A message needs a subject."
    if not recipient_email and not webhook_url:
        errors["recipient_email"] = "A message needs an email recipient, a webhook address or both."
    if webhook_url and partner is None:
        errors["partner"] = "A webhook needs the partner whose secret signs it."
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    message = OutboxMessage(
        kind=kind,
        subject=subject.strip()[:200],
        body=body,
        payload=payload or {},
        recipient_email=recipient_email,
        webhook_url=webhook_url,
        partner=partner,
        clinic=clinic,
        due_at=due_at or now,
        next_attempt_at=due_at or now,
        dedupe_key=dedupe_key or "",
        cancel_key=cancel_key,
    )
    if dedupe_key:
        existing = _live_with_key(dedupe_key)
        if existing is not None:
            return existing
        try:
            with transaction.atomic():  # a savepoint: a clash must not spoil the caller's transaction
                message.save()
        except IntegrityError:
            existing = _live_with_key(dedupe_key)  # written a moment ago by a concurrent transaction
            if existing is None:
                raise
            return existing
    else:
        message.save()
    if message.due_at <= now:
        transaction.on_commit(_nudge_dispatcher)
    return message


def enqueue_for_partner(
    *,
    partner: PartnerOrganisation,
    kind: str,
    subject: str,
    body: str,
    payload: dict | None = None,
    clinic=None,
    due_at=None,
    dedupe_key: str | None = None,
    cancel_key: str = "",
    now=None,
) -> OutboxMessage:
    """A message to a partner: by email to its contact address and, if it has one, by signed webhook."""
    return enqueue(
        kind=kind,
        subject=subject,
        body=body,
        payload=payload,
        recipient_email=partner.contact_email,
        webhook_url=partner.webhook_url,
        partner=partner,
        clinic=clinic,
        due_at=due_at,
        dedupe_key=dedupe_key,
        cancel_key=cancel_key,
        now=now,
    )


def _live_with_key(dedupe_key: str) -> OutboxMessage | None:
    return OutboxMessage.objects.filter(dedupe_key=dedupe_key).exclude(status=MessageStatus.CANCELLED).first()


def _nudge_dispatcher() -> None:
    """After commit: ask a worker to dispatch now rather than at the next beat. Best effort only."""
    from .tasks import dispatch_due_messages

    if dispatch_due_messages.app.conf.task_always_eager:
        return  # no broker (embedded mode): run_scheduled_jobs dispatches; never send inside a web request
    app = dispatch_due_messages.app
    try:
        # One try, no reconnect loop: with Redis down this fails in milliseconds instead of
        # holding the web request for the broker's connect timeout.
        with app.connection_for_write(transport_options={"max_retries": 0}) as connection:
            dispatch_due_messages.apply_async(connection=connection, retry=False)
    except Exception as exc:  # the broker is down: the row waits in the database for the next beat
        logger.warning("outbox: could not nudge the dispatcher (%s); the next beat will", exc.__class__.__name__)


def cancel_messages(*, cancel_key: str, reason: str, now=None) -> int:
    """Cancel the waiting (or failed) messages about one thing, e.g. a referral that has closed."""
    if not cancel_key:
        return 0
    return OutboxMessage.objects.filter(
        cancel_key=cancel_key, status__in=[MessageStatus.PENDING, MessageStatus.FAILED]
    ).update(status=MessageStatus.CANCELLED, cancelled_at=now or timezone.now(), cancel_reason=reason[:200])


@transaction.atomic
def resend(*, message: OutboxMessage, resent_by, now=None) -> OutboxMessage:
    """Try a failed message again from now, for another retry window. Keyworkers and managers of its clinic."""
    if not (
        has_capability(resent_by, Capability.HANDLE_REFERRALS) or has_capability(resent_by, Capability.MANAGE_CLINIC)
    ):
        raise PermissionDenied("Resending needs the keyworker or clinic manager role.")
    if message.clinic_id is None or not clinics_for(resent_by).filter(pk=message.clinic_id).exists():
        raise PermissionDenied("This message is not about one of your clinics.")
    message = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if message.status == MessageStatus.CANCELLED:
        raise ValidationError({"status": "This message was cancelled because its cause no longer holds."})
    if message.status != MessageStatus.FAILED:
        return message  # waiting, being sent or sent already: nothing to do
    now = now or timezone.now()
    message.status = MessageStatus.PENDING
    message.next_attempt_at = now
    message.first_attempt_at = None
    message.failed_at = None
    message.resent_at = now
    message.resent_by = resent_by
    message.save(update_fields=["status", "next_attempt_at", "first_attempt_at", "failed_at", "resent_at", "resent_by"])
    transaction.on_commit(_nudge_dispatcher)
    return message


# --- Dispatching (beat) ----------------------------------------------------------------------


def release_stale_claims(*, now=None) -> int:
    """Put rows whose worker died mid-way back in the queue, so nothing is lost."""
    now = now or timezone.now()
    released = OutboxMessage.objects.filter(
        status=MessageStatus.SENDING, claimed_at__lt=now - STALE_CLAIM_AFTER
    ).update(status=MessageStatus.PENDING, claimed_by="", claimed_at=None, next_attempt_at=now)
    if released:
        logger.warning("outbox: %s stale claim(s) released", released)
    return released


def dispatch_due(*, now=None, limit: int = DISPATCH_BATCH) -> int:
    """Claim due messages and queue one delivery task each, after commit. Returns how many were claimed."""
    now = now or timezone.now()
    release_stale_claims(now=now)
    claim = f"dispatch-{uuid.uuid4().hex[:16]}"
    with transaction.atomic():
        ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return 0
        # The status condition keeps the claim right even where rows cannot be locked (SQLite).
        claimed = OutboxMessage.objects.filter(pk__in=ids, status=MessageStatus.PENDING).update(
            status=MessageStatus.SENDING, claimed_by=claim, claimed_at=now
        )
        transaction.on_commit(lambda: _hand_to_workers(ids, claim))
    return claimed


def _hand_to_workers(ids: list[int], claim: str) -> None:
    from .tasks import deliver_message

    for position, message_id in enumerate(ids):
        try:
            deliver_message.delay(message_id, claim)
        except Exception as exc:
            # The broker went away: give the rest back now rather than after STALE_CLAIM_AFTER.
            OutboxMessage.objects.filter(pk__in=ids[position:], status=MessageStatus.SENDING, claimed_by=claim).update(
                status=MessageStatus.PENDING, claimed_by="", claimed_at=None
            )
            logger.warning("outbox: could not queue deliveries (%s); released them", exc.__class__.__name__)
            return


# --- Delivering (worker) ---------------------------------------------------------------------


def deliver(*, message_id: int, claim: str, now=None) -> str:
    """Deliver one claimed message. Returns what happened: sent, retry, failed, cancelled or not-claimed."""
    now = now or timezone.now()
    run = f"worker-{uuid.uuid4().hex[:16]}"
    # Take the claim over: only the task the dispatcher queued for this claim gets the row;
    # a duplicate (or a task overtaken by stale-claim recovery) finds nothing and stops.
    taken = OutboxMessage.objects.filter(pk=message_id, status=MessageStatus.SENDING, claimed_by=claim).update(
        claimed_by=run, claimed_at=now
    )
    if taken != 1:
        return "not-claimed"
    message = OutboxMessage.objects.select_related("partner").get(pk=message_id)
    mine = OutboxMessage.objects.filter(pk=message_id, status=MessageStatus.SENDING, claimed_by=run)

    reason = cancel_reason_for(message)
    if reason:
        mine.update(
            status=MessageStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:200], claimed_by="", claimed_at=None
        )
        return "cancelled"
    if message.first_attempt_at is None:
        message.first_attempt_at = now
        mine.update(first_attempt_at=now)

    errors = []
    if message.recipient_email and message.email_sent_at is None:
        error = _attempt(message, Channel.EMAIL, now)
        if error:
            errors.append(f"email: {error}")
        else:
            mine.update(email_sent_at=now)  # at once: a crash after this never repeats the email
    if message.webhook_url and message.webhook_sent_at is None:
        error = _attempt(message, Channel.WEBHOOK, now)
        if error:
            errors.append(f"webhook: {error}")
        else:
            mine.update(webhook_sent_at=now)

    attempts = F("attempts") + 1
    if not errors:
        mine.update(
            status=MessageStatus.SENT, sent_at=now, attempts=attempts, last_error="", claimed_by="", claimed_at=None
        )
        return "sent"
    last_error = "; ".join(errors)[:ERROR_MAX_CHARS]
    if now - message.first_attempt_at >= RETRY_WINDOW:
        mine.update(
            status=MessageStatus.FAILED,
            failed_at=now,
            attempts=attempts,
            last_error=last_error,
            claimed_by="",
            claimed_at=None,
        )
        logger.warning("outbox: message %s failed after %s attempts", message.pk, message.attempts + 1)
        return "failed"
    mine.update(
        status=MessageStatus.PENDING,
        next_attempt_at=now + backoff(message.attempts + 1),
        attempts=attempts,
        last_error=last_error,
        claimed_by="",
        claimed_at=None,
    )
    return "retry"


def _attempt(message: OutboxMessage, channel: str, now) -> str:
    """One try by one channel, logged. Returns "" when it worked, else the reason."""
    started = time.monotonic()
    status_code = None
    try:
        if channel == Channel.EMAIL:
            _send_email(message)
        else:
            status_code = _post_webhook(message, now)
            if not 200 <= status_code < 300:
                raise DeliveryError(f"the endpoint answered HTTP {status_code}")
        error = ""
    except (DeliveryError, UnsafeWebhookAddress) as exc:
        error = str(exc)
    except requests.RequestException as exc:
        error = f"{exc.__class__.__name__}: {exc}"
    except Exception as exc:  # SMTP and socket errors of every kind: logged and retried, never fatal
        error = f"{exc.__class__.__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)
    DeliveryAttempt.objects.create(
        message=message,
        channel=channel,
        started_at=now,
        finished_at=now + timedelta(milliseconds=duration_ms),
        duration_ms=duration_ms,
        ok=not error,
        status_code=status_code,
        error=error[:ERROR_MAX_CHARS],
    )
    return error


class DeliveryError(Exception):
    pass


def _send_email(message: OutboxMessage) -> None:
    EmailMessage(
        subject=message.subject,
        body=message.body,
        to=[message.recipient_email],
        # The same Message-ID on every try, so a mail system can recognise a repeat.
        headers={"Message-ID": f"<{message.webhook_id}@{DNS_NAME}>"},
    ).send(fail_silently=False)


def webhook_body(message: OutboxMessage) -> bytes:
    """The JSON body: the event type, when it happened, and the message's data (docs/webhooks.md)."""
    document = {"type": message.kind, "timestamp": message.created_at.isoformat(), "data": message.payload}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _post_webhook(message: OutboxMessage, now) -> int:
    secret = message.partner.webhook_secret if message.partner else ""
    if not secret:
        raise DeliveryError("the partner has no webhook signing secret")
    body = webhook_body(message)
    headers = signed_headers(secret=secret, webhook_id=message.webhook_id, timestamp=int(now.timestamp()), body=body)
    headers["user-agent"] = "HAT-Clinic-Webhooks/1"
    # Refuses the clinic's own network after resolving the name, and plain http under HTTPS (issue 11).
    response = post_checked(message.webhook_url, data=body, headers=headers, timeout=webhook_timeout())
    return response.status_code
