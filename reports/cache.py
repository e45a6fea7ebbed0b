"""The presented report, cached under a key that changes whenever any record it is made from changes.

A dashboard request then costs one small query (the data version) and a cache read. The version
is: the summary tables' refresh counter (bumped by every refresh, in its transaction: dosing and
TOP outcome figures come from them), the count, highest id and change-history position of
episodes, the count and latest change of referrals and onward referrals, and the change history of the
clinics' unit costs. An entry also
expires after CACHE_SECONDS, as a bound on anything that changes rows without going through the
models (a raw UPDATE), so figures are never older than that.

A new dose or outcome interview reaches the figures only through the summary tables, so it moves the key
when the refresh job (every 5 minutes) has counted it, in the refresh's own transaction: the key moves
exactly when the figures can. A new referral or episode moves it at once (they are read directly).

What is drawn from the report is cached under the same key (`rendered`): the dashboard's HTML (charts
and tables, nothing of the person asking) and the API's serialised answer, so a repeated view costs the
version query and one cache read. The cache is the resilient one of health/cache.py: with Redis down,
each process answers from its own memory and the page is still drawn.
"""

import hashlib

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from .costs import cost_estimate
from .outcomes import outcomes
from .presenting import present_outcomes
from .selectors import statistics
from .suppression import present

CACHE_SECONDS = 5 * 60

VERSION_SQL = """
    SELECT (SELECT version FROM reports_refreshstate WHERE name = 'summaries'),
           (SELECT COUNT(*) FROM patients_episode), (SELECT MAX(id) FROM patients_episode),
           (SELECT MAX(history_id) FROM patients_historicalepisode),
           (SELECT COUNT(*) FROM referrals_referral), (SELECT MAX(updated_at) FROM referrals_referral),
           (SELECT COUNT(*) FROM referrals_onwardreferral), (SELECT MAX(updated_at) FROM referrals_onwardreferral),
           (SELECT MAX(history_id) FROM reports_historicalcliniccosts),
           (SELECT MAX(history_id) FROM reports_historicaloffenceunitcost)
"""


def data_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute(VERSION_SQL)
        return "|".join(str(value) for value in cursor.fetchone())


def report_key(*, clinics, start, end, granularity, as_of=None) -> str:
    """The cache key of the report of these filters as the data stand now (one small query)."""
    as_of = as_of or timezone.localdate()
    parts = [",".join(str(c.pk) for c in clinics), start, end, granularity, as_of, data_version()]
    return "reports:v4:" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def report_for(*, clinics, start, end, granularity, as_of=None, key: str | None = None, detail: bool = True) -> dict:
    """present(statistics(...)), from the cache when nothing it depends on has changed.

    `detail=False`: the dashboard's report, without the sections only the page of figures by period shows
    (selectors.DETAIL); the whole report when it is cached already, else one without them, cached apart.
    """
    as_of = as_of or timezone.localdate()
    key = key or report_key(clinics=clinics, start=start, end=end, granularity=granularity, as_of=as_of)
    keys = [key] if detail else [key, f"{key}:dashboard"]
    cached = cache.get_many(keys)
    for known in keys:
        if known in cached:
            return cached[known]
    report = build_report(clinics=clinics, start=start, end=end, granularity=granularity, as_of=as_of, detail=detail)
    cache.set(keys[-1], report, CACHE_SECONDS)
    return report


def rendered(key: str, part: str, make):
    """`make()`, cached beside the report of `key` (same key, same lifetime): what a view draws from it."""
    value = cache.get(f"{key}:{part}")
    if value is None:
        value = make()
        cache.set(f"{key}:{part}", value, CACHE_SECONDS)
    return value


def build_report(*, clinics, start, end, granularity, as_of, detail: bool = True) -> dict:
    """The statistics and the outcome sections of these filters, presented (no cache)."""
    stats = statistics(clinics=clinics, start=start, end=end, granularity=granularity, as_of=as_of, detail=detail)
    report = present(stats)
    out = outcomes(stats=stats)
    report.update(present_outcomes(stats, out, report))
    report["costs"] = cost_estimate(clinics=stats.clinics, start=start, end=end, as_of=as_of)
    return report
