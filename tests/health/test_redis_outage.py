"""Redis stopped under a running clinic (issue 13.1, done-when 1): gunicorn and a real Celery worker on a
private redis-server that the test stops and starts again.

While Redis is down: staff sign in, the board loads and polls, a dose is recorded with its register
lines, a keyworker makes an onward referral (its reminder waits in the outbox), the partner API
answers, and /health/ answers 503 naming Redis. After Redis returns, the reminder made during the
outage is delivered exactly once.
"""

import datetime as dt

import pytest
import requests
from celery import Celery
from django.utils import timezone

from bench import data
from bench.client import Partner, Staff
from cd_register.models import RegisterEntry
from deliveries.models import MessageStatus, OutboxMessage
from dosing.models import Administration
from health.models import Heartbeat
from onward.models import OnwardReferral
from ops.ledgers import check_all
from tests.celery_worker import emails_with, wait_for
from tests.servers import gunicorn, process, production_environment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clinic_and_partner():
    now = timezone.now()
    stamp = now.strftime("%Y%m%d%H%M%S")
    site = data.clinic_with_patients(name="Outage", stamp=stamp, patients=3, now=now, mixed_board=False)
    partner = data.partner_with_referrals(site, stamp=stamp, now=now, referrals=2, others=1)
    return site, partner, f"bench-keyworker-{stamp}"


def test_the_clinic_keeps_working_while_redis_is_down_and_the_reminder_goes_once_after(
    private_redis, clinic_and_partner, tmp_path
):
    site, partner, keyworker = clinic_and_partner
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = production_environment(
        REDIS_URL=private_redis.url,
        CELERY_TASK_ALWAYS_EAGER="0",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
    )
    queue = env["CELERY_QUEUE"]
    worker = ["celery", "-A", "hat_clinic", "worker", "--pool", "solo", "-Q", queue, "--loglevel", "INFO"]
    with (
        process(worker, env=env, log=tmp_path / "worker.log"),
        gunicorn(env, tmp_path / "gunicorn.log", workers=2) as base,
    ):
        wait_for(lambda: requests.get(f"{base}/health/", timeout=10).status_code == 200, timeout=30)

        private_redis.stop()

        nurse = Staff(base, site.nurse.username, data.PASSWORD)  # signing in
        assert nurse.get("/dosing/board/").status_code == 200
        for _ in range(3):
            assert nurse.get("/dosing/board/rows/").status_code == 200  # the board's poll
        dose = nurse.post_json(
            f"/api/v1/dosing/slots/{site.slots[0]}/administration/",
            {"dose_mg": "100", "route": "iv", "injection_site": "left_arm", "witness": site.witness.pk}
            | {"witness_password": data.PIN},
        )
        assert dose.status_code == 201, dose.text
        administration = Administration.objects.get(slot_id=site.slots[0])
        assert RegisterEntry.objects.filter(administration_ref=administration.pk).exists()

        patient = OnwardReferral.objects.filter(partner=partner.partner).order_by("pk").first().patient
        made = Staff(base, keyworker, data.PASSWORD).post_json(
            "/api/v1/onward-referrals/",
            {
                "patient": patient.pk,
                "partner": partner.partner.pk,
                "need_kind": "housing",
                "need": "Somewhere to live after the hostel closes",
                "contact_route": "phone",
            },
        )
        assert made.status_code == 201, made.text
        reminder = OutboxMessage.objects.get(dedupe_key=f"referral.{made.json()['id']}.not_acknowledged")
        assert reminder.status == MessageStatus.PENDING

        partner_system = Partner(base, partner.client_id, partner.client_secret)
        listed = partner_system.get("/api/v1/partner/referrals/")
        assert listed.status_code == 200, listed.text

        health = nurse.get("/health/")  # with a session cookie
        assert health.status_code == 503
        assert "redis" in health.json()["failing"]

        private_redis.start()

        wait_for(lambda: requests.get(f"{base}/health/", timeout=10).status_code == 200, timeout=60)
        # The reminder falls due (its acknowledgement deadline is days away; time "passes" here).
        OutboxMessage.objects.filter(pk=reminder.pk).update(
            due_at=timezone.now() - dt.timedelta(minutes=1), next_attempt_at=timezone.now() - dt.timedelta(minutes=1)
        )
        # A client of the private broker only; never the current app, or later tests would send to it.
        broker = Celery(broker=private_redis.url, set_as_current=False)
        broker.send_task("deliveries.tasks.dispatch_due_messages", queue=queue)  # the next beat's dispatch
        wait_for(lambda: OutboxMessage.objects.filter(pk=reminder.pk, status=MessageStatus.SENT).exists(), timeout=60)
        broker.send_task("deliveries.tasks.dispatch_due_messages", queue=queue)  # and the one after
        # One solo worker runs its queue in order: once the second marker has run, any delivery the second
        # dispatch could have queued has run too.
        for marker in ("after-second-dispatch", "after-its-deliveries"):
            broker.send_task("health.tasks.record_heartbeat", kwargs={"name": marker}, queue=queue)
            wait_for(lambda marker=marker: Heartbeat.objects.filter(name=marker).exists(), timeout=30)

    reminder.refresh_from_db()
    assert reminder.attempts == 1
    assert emails_with(mail_dir, reminder) == 1
    assert check_all() == {name: [] for name in check_all()}
