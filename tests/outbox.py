"""What beat and a worker do with the outbox, run in the test's own process at a chosen time."""

from deliveries import services
from deliveries.models import MessageStatus, OutboxMessage


def run_dispatch(django_capture_on_commit_callbacks, now) -> dict[int, str]:
    """Claim due messages, then deliver each (at `now`): {message id: outcome}."""
    with django_capture_on_commit_callbacks(execute=False):
        services.dispatch_due(now=now)
    sending = OutboxMessage.objects.filter(status=MessageStatus.SENDING, claimed_at=now)
    return {m.pk: services.deliver(message_id=m.pk, claim=m.claimed_by, now=now) for m in sending}
