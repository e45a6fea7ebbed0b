"""What else stops when a patient withdraws a data-sharing consent, registered by the apps that share.

SPEC 3.3: a withdrawal takes effect at once. Reads check the live consent themselves; this hook is
for what is already queued to go to the partner (e.g. the onward app cancels a diversion contract's
waiting deliveries), in the same transaction as the withdrawal. Apps register in their
AppConfig.ready(), so patients imports none of them (arrows point one way).
"""

from collections.abc import Callable

ConsentWithdrawnHandler = Callable[..., None]  # handler(*, patient, partner, now)

_handlers: list[ConsentWithdrawnHandler] = []


def on_data_sharing_withdrawn(handler: ConsentWithdrawnHandler) -> None:
    """Register `handler(*, patient, partner, now)`, called inside the withdrawal's transaction."""
    if handler not in _handlers:
        _handlers.append(handler)


def data_sharing_withdrawn(*, patient, partner, now) -> None:
    for handler in _handlers:
        handler(patient=patient, partner=partner, now=now)
