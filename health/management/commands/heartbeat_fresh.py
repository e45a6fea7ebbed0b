"""Exit 0 when the beat heartbeat is recent, 1 otherwise (docker-compose health check for beat)."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from health.models import Heartbeat


class Command(BaseCommand):
    help = "Fail unless the scheduled heartbeat job ran within --max-age seconds."

    def add_arguments(self, parser):
        parser.add_argument("--max-age", type=int, default=180)

    def handle(self, *args, max_age=180, **options):
        cutoff = timezone.now() - timedelta(seconds=max_age)
        heartbeat = Heartbeat.objects.filter(name="beat").first()
        if heartbeat is None or heartbeat.seen_at < cutoff:
            raise CommandError(f"No heartbeat in the last {max_age} s.")
        self.stdout.write(f"Heartbeat {heartbeat.seen_at.isoformat()} ({heartbeat.runs} runs).")
