from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def dispatch_due_messages() -> int:
    """Beat, every minute: release stale claims, claim due messages, queue their deliveries."""
    return services.dispatch_due()


@shared_task(ignore_result=True, acks_late=True)
def deliver_message(message_id: int, claim: str) -> str:
    """Deliver one message claimed by the dispatcher; a duplicate or stale task does nothing."""
    return services.deliver(message_id=message_id, claim=claim)
