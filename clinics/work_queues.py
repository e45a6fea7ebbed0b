"""Work queues for the home page: "3 holds to review", "2 to sign out", each a link with its count.

Apps register their queues in AppConfig.ready() (as with the navigation), so clinics imports
none of them. A queue is counted only when the user holds the queue's capability; a count
function is a selector of its own app, and counts exactly what the queue's page lists (it is the
length of the same selector), so a count and its page never disagree. Queues of the session (the
nurse's, which follow the board) count the clinic the user is working in; queues of patients and
staff (holds, reviews, consents, interviews) count all the user's clinics, as their pages list
them with a Clinic column.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse

from .roles import Capability, Role


@dataclass(frozen=True)
class WorkQueue:
    role: Role  # the home page card it belongs to
    label: str  # plural words after the count: "holds to review"
    url_name: str
    capability: Capability
    count: Callable  # (user, clinic) -> int
    order: int = 100


_queues: list[WorkQueue] = []


def register(queue: WorkQueue) -> None:
    if all((q.role, q.label) != (queue.role, queue.label) for q in _queues):
        _queues.append(queue)


def queues_for(user, clinic) -> dict[str, list[dict]]:
    """Per role value, the user's queues with their counts (none without a clinic to count in)."""
    if clinic is None:
        return {}
    mine: dict[str, list[dict]] = {}
    for queue in sorted(_queues, key=lambda q: q.order):
        if user.has_perm(queue.capability.perm):
            mine.setdefault(queue.role.value, []).append(
                {"label": queue.label, "url": reverse(queue.url_name), "count": queue.count(user, clinic)}
            )
    return mine


@dataclass(frozen=True)
class HeaderBadge:
    """A count shown in the page header on every page (e.g. unread alerts), linking to its page."""

    label: str
    url_name: str
    capability: Capability
    count: Callable  # (user) -> int


_badges: list[HeaderBadge] = []


def register_badge(badge: HeaderBadge) -> None:
    if all(existing.label != badge.label for existing in _badges):
        _badges.append(badge)


def badges_for(user) -> list[dict]:
    """The header badges the user may follow, with their counts (only those above zero)."""
    shown = []
    for badge in _badges:
        if user.has_perm(badge.capability.perm):
            count = badge.count(user)
            if count:
                shown.append({"label": badge.label, "url": reverse(badge.url_name), "count": count})
    return shown
