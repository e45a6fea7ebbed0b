"""The presented report is cached under a data version: it moves with every record the report is made from."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from onward.models import OnwardReferral
from reports import services
from reports.cache import data_version
from tests.factories import PartnerFactory, PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def test_the_data_version_moves_with_each_source_of_the_report(clinic, keyworker):
    services.refresh_changed()
    versions = [data_version()]

    services.refresh_changed()  # dosing and TOP outcome figures: the summary tables
    versions.append(data_version())
    patient = PatientFactory(clinic=clinic)  # an episode
    versions.append(data_version())
    ReferralFactory(clinic=clinic, created_by=keyworker)
    versions.append(data_version())
    now = datetime.datetime.now(tz=datetime.UTC)
    OnwardReferral.objects.create(
        patient=patient,
        clinic=clinic,
        partner=PartnerFactory(clinics=[clinic]),
        need_kind="housing",
        need="A flat",
        contact_route="phone",
        created_by=keyworker,
        created_at=now,
        updated_at=now,
    )
    versions.append(data_version())

    assert len(set(versions)) == len(versions)


def _page(response) -> bytes:
    """The page less its per-request CSRF tokens (each response masks the token anew)."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)


def _summary_reads(queries) -> list[str]:
    return [q["sql"] for q in queries if "reports_dailysessionstats" in q["sql"] or "outcomefollowup" in q["sql"]]


def test_a_repeated_view_is_the_cached_page_until_a_new_referral_moves_the_key(
    dosing_history, client_for, commissioner, clinic, keyworker
):
    client = client_for(commissioner)
    url = reverse("reports-dashboard") + "?start=2026-03-01&end=2026-04-30"
    tables_url = reverse("reports-tables") + "?start=2026-03-01&end=2026-04-30"  # where the referrals are shown
    first, first_tables = client.get(url), client.get(tables_url)
    with CaptureQueriesContext(connection) as repeated:
        again, again_tables = client.get(url), client.get(tables_url)

    assert again.status_code == again_tables.status_code == 200
    assert _summary_reads(repeated.captured_queries) == []  # drawn from the cache: no figure recomputed
    assert _page(again) == _page(first) and _page(again_tables) == _page(first_tables)

    api_url = reverse("api-stats") + "?start=2026-03-01&end=2026-04-30&granularity=month"
    assert client.get(api_url).json()["referrals"]["total"]["received"] == 0
    for _ in range(8):  # 8 referrals in March: shown as 10 once the key has moved
        ReferralFactory(clinic=clinic, created_by=keyworker, received_on=datetime.date(2026, 3, 9))
    with CaptureQueriesContext(connection) as after:
        client.get(url)
        moved = client.get(tables_url)
    assert _summary_reads(after.captured_queries) != []
    assert _page(moved) != _page(first_tables)
    assert client.get(api_url).json()["referrals"]["total"]["received"] == 10


def test_the_cached_answer_of_the_api_is_the_fresh_one(dosing_history, client_for, commissioner):
    client = client_for(commissioner)
    url = reverse("api-stats") + "?start=2026-03-01&end=2026-04-30&granularity=week"
    first = client.get(url)
    cache.clear()
    fresh = client.get(url)

    assert first.status_code == fresh.status_code == 200
    assert client.get(url).json() == fresh.json() == first.json()


def test_the_dashboard_is_drawn_while_redis_is_down(dosing_history, client_for, commissioner, settings, private_redis):
    settings.CACHES = {
        "default": {
            "BACKEND": "health.cache.ResilientRedisCache",
            "LOCATION": private_redis.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    client = client_for(commissioner)
    url = reverse("reports-dashboard") + "?start=2026-03-01&end=2026-04-30"
    before = client.get(url)
    private_redis.stop()

    down = [client.get(url), client.get(url)]
    api = client.get(reverse("api-stats") + "?start=2026-03-01&end=2026-04-30")

    assert before.status_code == 200
    assert [response.status_code for response in down] == [200, 200]
    assert _page(down[0]) == _page(down[1]) == _page(before)
    assert api.status_code == 200
