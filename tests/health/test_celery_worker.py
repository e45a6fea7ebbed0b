import pytest

from health.models import Heartbeat
from health.tasks import record_heartbeat
from tests.celery_worker import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_a_task_sent_through_redis_is_run_by_a_real_worker_and_written_to_postgresql(celery_worker):
    record_heartbeat.delay(name="through-the-worker")

    def heartbeat_recorded():
        return Heartbeat.objects.filter(name="through-the-worker").first()

    heartbeat = wait_for(heartbeat_recorded)
    assert heartbeat.runs == 1


def test_a_task_queued_on_commit_is_not_sent_when_the_transaction_rolls_back(celery_worker):
    from django.db import transaction

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        record_heartbeat.delay_on_commit(name="rolled-back")
        raise Rollback

    with transaction.atomic():
        record_heartbeat.delay_on_commit(name="committed")

    wait_for(lambda: Heartbeat.objects.filter(name="committed").exists())
    # The worker runs tasks in order on one solo process: "committed" done means nothing else is queued.
    assert not Heartbeat.objects.filter(name="rolled-back").exists()


def test_health_reports_the_worker_when_one_answers(celery_worker, client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json()["checks"]["workers"]["ok"] is True
