"""Reads about outbox messages, for the delivery history and failed-deliveries pages."""

from django.db.models import QuerySet

from clinics.selectors import clinics_for

from .models import MessageStatus, OutboxMessage


def messages_for(user) -> QuerySet[OutboxMessage]:
    """Messages about this user's clinics."""
    return OutboxMessage.objects.filter(clinic__in=clinics_for(user)).select_related("partner", "clinic")


def failed_messages_for(user) -> QuerySet[OutboxMessage]:
    return messages_for(user).filter(status=MessageStatus.FAILED).order_by("-failed_at")


def messages_about(cancel_key: str) -> QuerySet[OutboxMessage]:
    """Every message about one thing (e.g. "referral:7"), newest first, with its attempts."""
    return OutboxMessage.objects.filter(cancel_key=cancel_key).prefetch_related("delivery_attempts")
