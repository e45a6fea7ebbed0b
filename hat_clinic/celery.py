"""The Celery application: JSON only, time limits and the beat schedule live in settings.

Tasks are queued with `task.delay_on_commit(...)` (Celery's Django task class), so a
task never runs against data whose transaction was rolled back or not yet committed.
"""

import functools
import logging
import os

from celery import Celery
from celery.contrib.django.task import DjangoTask
from celery.signals import beat_init
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hat_clinic.settings")

logger = logging.getLogger("hat_clinic.celery")


class Task(DjangoTask):
    def delay_on_commit(self, *args, **kwargs) -> None:
        """Queue after commit, once, without waiting on a broker that is down (issue 13).

        Celery's own version retries the publish and then raises inside Django's on-commit hook,
        which turns an already committed change (a dose and its alert) into a 500. Anything that
        must not be lost goes through the outbox (deliveries/), never through this call alone.
        """
        transaction.on_commit(functools.partial(self._send_once, args, kwargs))

    def _send_once(self, args, kwargs) -> None:
        try:
            with self.app.connection_for_write(transport_options={"max_retries": 0}) as connection:
                self.apply_async(args, kwargs, connection=connection, retry=False)
        except Exception as exc:  # the broker is down: the change is committed, only this task is lost
            logger.warning("could not queue %s (%s); the broker is unreachable", self.name, exc.__class__.__name__)


app = Celery("hat_clinic", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@beat_init.connect
def _heartbeat_when_beat_starts(sender, **kwargs) -> None:
    """Beat's first scheduled heartbeat is a minute away: send one now, so /health/ sees beat at once."""
    sender.app.send_task("health.tasks.record_heartbeat", kwargs={"name": "beat"})
