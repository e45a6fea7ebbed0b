from django.db import models


class Heartbeat(models.Model):
    """The last time a scheduled job ran: beat sends `record_heartbeat` every minute through a worker."""

    name = models.CharField(max_length=60, unique=True)
    seen_at = models.DateTimeField()
    runs = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
