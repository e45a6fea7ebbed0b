"""Scheduled housekeeping: nothing kept past its time, nothing live thrown away."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import AccessToken

from clinics.models import IdempotencyKey
from clinics.tasks import purge_expired_idempotency_keys_job
from partners.tasks import clear_expired_tokens_job
from tests.factories import PartnerClientFactory, PartnerFactory

pytestmark = pytest.mark.django_db


def key(name: str, *, expires_at) -> IdempotencyKey:
    return IdempotencyKey.objects.create(
        scope="user:1", key=name, method="POST", path="/api/v1/x/", fingerprint="0" * 64, response_status=201,
        created_at=expires_at - dt.timedelta(hours=24), expires_at=expires_at,
    )  # fmt: skip


def test_the_job_forgets_expired_idempotency_keys_and_keeps_live_ones():
    now = timezone.now()
    key("old", expires_at=now - dt.timedelta(seconds=1))
    key("live", expires_at=now + dt.timedelta(hours=1))

    assert purge_expired_idempotency_keys_job.delay().get() == 1

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["live"]


def test_the_job_deletes_expired_partner_tokens_and_keeps_live_ones(clinic):
    client = PartnerClientFactory(partner=PartnerFactory(clinics=[clinic]))
    now = timezone.now()
    for token, expires in (("expired", now - dt.timedelta(seconds=1)), ("live", now + dt.timedelta(minutes=10))):
        AccessToken.objects.create(application=client.application, token=token, expires=expires, scope="referrals:read")

    clear_expired_tokens_job.delay().get()

    assert list(AccessToken.objects.values_list("token", flat=True)) == ["live"]


def test_both_jobs_are_scheduled():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"clinics.tasks.purge_expired_idempotency_keys_job", "partners.tasks.clear_expired_tokens_job"} <= tasks
