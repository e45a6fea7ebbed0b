"""Run the beat schedule's jobs in this process, for the embedded mode without a broker.

With Redis, `celery beat` and workers do this. Without it (`make run`), this command runs
every job of CELERY_BEAT_SCHEDULE once, or every `--every` seconds until stopped.
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from hat_clinic.celery import app as celery_app


class Command(BaseCommand):
    help = "Run every scheduled (beat) job now, in-process; with --every N, repeat every N seconds."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=0, help="Repeat every N seconds (0: run once).")

    def handle(self, *args, every=0, **options):
        celery_app.loader.import_default_modules()  # register every app's tasks
        while True:
            for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
                task = celery_app.tasks[entry["task"]]
                try:
                    task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}), throw=True)
                except Exception as exc:  # one failing job must not stop the others
                    self.stderr.write(f"{name}: failed: {exc.__class__.__name__}: {exc}")
                else:
                    self.stdout.write(f"{name}: ok")
            if not every:
                return
            time.sleep(every)
