"""The `cancel_if` hook: apps say when a message's cause no longer holds, so it is not sent.

    # referrals/apps.py, in ready():
    from deliveries.registry import cancel_if

    @cancel_if("referral.")
    def referral_closed(message):
        referral = Referral.objects.filter(pk=message.payload.get("referral_id")).first()
        return "The referral is closed." if referral is None or referral.is_closed else None

The worker asks every check whose prefix matches the message's kind, right before sending
(after it has claimed the row), so a change committed a moment earlier is seen. A check
returns a reason (a short sentence, no identifiers) to cancel, or None to send.
`services.cancel_messages(cancel_key=...)` cancels waiting messages at once, in the caller's
transaction; this hook covers a message already on its way to a worker.
"""

from collections.abc import Callable

CancelCheck = Callable[["OutboxMessage"], str | None]  # noqa: F821 (string annotation, no import cycle)

_checks: list[tuple[str, CancelCheck]] = []


def cancel_if(kind_prefix: str):
    def register(check: CancelCheck) -> CancelCheck:
        if (kind_prefix, check) not in _checks:
            _checks.append((kind_prefix, check))
        return check

    return register


def cancel_reason_for(message) -> str | None:
    if message.partner_id and not message.partner.is_active:
        return "The partner organisation is inactive."
    for prefix, check in _checks:
        if message.kind.startswith(prefix):
            reason = check(message)
            if reason:
                return str(reason)
    return None
