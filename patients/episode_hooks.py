"""What else ends with a treatment episode, registered by the apps that build on patients (S13).

Ending an episode (discharge for any reason: completed, died, custody, transfer, ...) must stop
everything that treats the patient in the same transaction: dosing stops the prescriptions and
cancels the future slots. Dosing registers its handler in its AppConfig.ready(), so patients
imports nothing of dosing (arrows point one way). A handler may refuse the discharge by raising
ValidationError (e.g. a dose recorded after the discharge date): the whole discharge rolls back.
"""

from collections.abc import Callable

EpisodeEndHandler = Callable[..., None]  # handler(*, episode, by, now)

_handlers: list[EpisodeEndHandler] = []


def on_episode_end(handler: EpisodeEndHandler) -> None:
    """Register `handler(*, episode, by, now)`, called inside the discharge transaction."""
    if handler not in _handlers:
        _handlers.append(handler)


def episode_ended(*, episode, by, now) -> None:
    """Run every registered handler; the caller holds the patient's lock and the open transaction."""
    for handler in _handlers:
        handler(episode=episode, by=by, now=now)
