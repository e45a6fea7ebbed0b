from django.db.models import F
from django.utils import timezone

from .models import Heartbeat


def record_heartbeat(*, name: str = "beat", now=None) -> Heartbeat:
    now = now or timezone.now()
    # One statement, so two workers running it at once cannot lose a count.
    updated = Heartbeat.objects.filter(name=name).update(seen_at=now, runs=F("runs") + 1)
    if not updated:
        _, created = Heartbeat.objects.get_or_create(name=name, defaults={"seen_at": now, "runs": 1})
        if not created:  # another worker created it between our update and our insert
            Heartbeat.objects.filter(name=name).update(seen_at=now, runs=F("runs") + 1)
    return Heartbeat.objects.get(name=name)
