"""The database time of one dose: a patient with years of history against a new patient (issue 13, item 7).

Measured in the benchmark's own process, not over HTTP: `dosing.services.administer_dose` is called
for ready slots (the same service the API calls, every rule checked) with a query wrapper adding up
the time each SQL statement took on the connection. The witness's PIN check happens before any
query and is not counted. Target: the history patient's p50 within 20% of the new patient's.

Both get the same dose, 100 mg (one 100 mg ampoule: the same register lines), so that the difference is the
patient's history and nothing else: a history patient prescribed 170 mg would otherwise draw three
registers' ampoules and waste where the new patient draws one. A history patient prescribed more gets a
partial dose of 100 mg (allowed: S4 caps a dose, it does not set a floor); one prescribed less is not used.
"""

import time
from decimal import Decimal

from .report import percentiles

SAME_DOSE_MG = "100"  # the new patients' prescribed dose (bench.data)


class _Clock:
    def __init__(self):
        self.total = 0.0
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += time.perf_counter() - started
            self.queries += 1


def _dose_db_ms(items, nurse) -> tuple[list[float], list[int]]:
    from django.db import connection
    from django.utils import timezone

    from clinics.models import User
    from dosing import services
    from dosing.models import Slot

    from .data import PIN

    times, counts = [], []
    witnesses = {}
    for slot_id, dose_mg, witness_id in items:
        slot = Slot.objects.select_related("clinic", "patient", "prescription").get(pk=slot_id)
        witness = witnesses.get(witness_id) or witnesses.setdefault(witness_id, User.objects.get(pk=witness_id))
        clock = _Clock()
        with connection.execute_wrapper(clock):
            services.administer_dose(slot=slot, nurse=nurse, dose_mg=Decimal(dose_mg), route="iv",
                                     injection_site="left_arm", witness=witness, witness_password=PIN,
                                     now=timezone.now())  # fmt: skip
        times.append(clock.total * 1000)
        counts.append(clock.queries)
    return times, counts


def run(sites, *, doses: int = 20) -> dict:
    """{history: {...}, new: {...}, ratio_p50, target, met}: DB ms per dose of each kind."""
    history = sites["history"]
    same = Decimal(SAME_DOSE_MG)
    items = [(slot, SAME_DOSE_MG, witness) for slot, dose_mg, witness in history.take("pin", doses * 2)
             if Decimal(dose_mg) >= same][:doses]  # fmt: skip
    if not items:
        raise RuntimeError("no patient with history is ready to dose (see bench/history.py)")
    site = sites["dose"]
    spare = site.slots[-doses:]  # the last slots of the new patients: record_dose_new_patient takes the first
    new_items = [(slot, SAME_DOSE_MG, site.witness.pk) for slot in spare[: len(items)]]
    # Interleaved, one of each in turn: the first doses on the process's connection pay for planning each
    # statement (psycopg prepares a statement on its 5th run), and timing one kind after the other put that
    # warm-up on the first kind alone (the history patients', whose ratio it inflated).
    old_ms, old_queries, new_ms, new_queries = [], [], [], []
    for old_item, new_item in zip(items, new_items, strict=False):
        for item, nurse, times, counts in ((old_item, history.nurse, old_ms, old_queries),
                                           (new_item, site.nurse, new_ms, new_queries)):  # fmt: skip
            took, queries = _dose_db_ms([item], nurse)
            times.extend(took)
            counts.extend(queries)
    old, new = percentiles(old_ms), percentiles(new_ms)
    ratio = round(old[50] / new[50], 2) if new.get(50) else None
    return {
        "history": {"doses": len(old_ms), "db_p50_ms": old[50], "db_p95_ms": old[95], "queries": max(old_queries)},
        "new": {"doses": len(new_ms), "db_p50_ms": new[50], "db_p95_ms": new[95], "queries": max(new_queries)},
        "ratio_p50": ratio,
        "target": 1.2,
        "met": ratio is not None and ratio <= 1.2,
    }
