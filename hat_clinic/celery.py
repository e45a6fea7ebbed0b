"""The Celery application: JSON only, time limits and the beat schedule live in settings.

Tasks are queued with `task.delay_on_commit(...)` (Celery's Django task class), so a
task never runs against data whose transaction was rolled back or not yet committed.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hat_clinic.settings")

app = Celery("hat_clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
