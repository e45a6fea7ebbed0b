"""Issue 13.7: every dose-time read is bounded by time, served by an index, whatever the patient's history.

A patient with 500 earlier doses is dosed with the same number of queries as one with 5, and no
query of the dose reads more than a day's (or the S7 look-back's) rows of administrations and slots:
each is EXPLAIN ANALYZEd with sequential scans off, and the rows its scans of those tables touch
are counted. (The same query count for 5 and 150 patients: test_pages and test_api.)
"""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dosing.models import Administration, DosingSettings, Session, Slot, SlotStatus
from tests.factories import PatientFactory, PrescriptionFactory, SlotFactory, TreatmentConsentFactory

from .conftest import TODAY, at, check, dose

pytestmark = pytest.mark.django_db


def patient_with_history(clinic, prescriber, keyworker, nurse, witness, *, doses: int):
    patient = PatientFactory(clinic=clinic)
    TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
    prescription = PrescriptionFactory(patient=patient, prescriber=prescriber, starts_on=datetime.date(2025, 1, 1))
    settings = DosingSettings.for_clinic(clinic)
    slots = []
    for index in range(doses):
        day = TODAY - datetime.timedelta(days=1 + index // 2)
        session = (Session.MORNING, Session.AFTERNOON)[index % 2]
        start, end = settings.window(day, session)
        slots.append(Slot(patient=patient, clinic=clinic, prescription=prescription, date=day, session=session,
                          window_start=start, window_end=end, status=SlotStatus.GIVEN))  # fmt: skip
    slots = Slot.objects.bulk_create(slots)
    Administration.objects.bulk_create(
        Administration(
            slot=slot,
            patient=patient,
            prescription=prescription,
            drug=prescription.drug,
            dose_mg=Decimal(100),
            prescribed_dose_mg=Decimal(100),
            route="iv",
            injection_site="left_arm",
            given_at=slot.window_start + datetime.timedelta(minutes=20),
            nurse=nurse,
            witness=witness,
            observation_ends_at=slot.window_start + datetime.timedelta(minutes=35),
            recorded_at=slot.window_start + datetime.timedelta(minutes=20),
        )
        for slot in slots
    )
    return SlotFactory(prescription=prescription, date=TODAY, session=Session.MORNING)


def queries_of_a_dose(slot, nurse, witness) -> list[str]:
    check(slot, nurse, now=at(TODAY, 9, 0))
    with CaptureQueriesContext(connection) as queries:
        dose(slot, nurse, witness, now=at(TODAY, 9, 2))
    return [query["sql"] for query in queries.captured_queries]


def test_a_dose_uses_the_same_queries_with_5_and_with_500_earlier_doses(
    clinic, prescriber, keyworker, nurse, second_nurse
):
    few = patient_with_history(clinic, prescriber, keyworker, nurse, second_nurse, doses=5)
    many = patient_with_history(clinic, prescriber, keyworker, nurse, second_nurse, doses=500)

    assert len(queries_of_a_dose(few, nurse, second_nurse)) == len(queries_of_a_dose(many, nurse, second_nurse))


HISTORY_TABLES = {"dosing_administration", "dosing_slot"}


def rows_touched(plan: dict) -> int:
    """Rows the scans of administrations and slots return or filter away, over all their loops."""
    touched = 0
    if plan.get("Relation Name") in HISTORY_TABLES:
        touched += (plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)) * plan.get("Actual Loops", 1)
    return touched + sum(rows_touched(child) for child in plan.get("Plans", []))


def test_every_read_of_a_dose_touches_a_bounded_number_of_history_rows_through_an_index(
    clinic, prescriber, keyworker, nurse, second_nurse
):
    slot = patient_with_history(clinic, prescriber, keyworker, nurse, second_nurse, doses=500)
    statements = [sql for sql in queries_of_a_dose(slot, nurse, second_nurse) if sql.lstrip().startswith("SELECT")]

    touched = {}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in statements:
            if not any(f'"{table}"' in sql for table in HISTORY_TABLES):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
            touched[sql[:160]] = rows_touched(plan)
    assert touched, "the dose reads administrations and slots"
    # a day's doses plus the S7 look-back of 21 days x 2 sessions: far below the 500 doses on record
    assert max(touched.values()) <= 60, touched


INDEX_COLUMNS = """
SELECT i.indexrelid::regclass::text, i.indisunique, i.indpred IS NOT NULL,
       ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.n)
FROM pg_index i WHERE i.indrelid = %s::regclass
"""


@pytest.mark.parametrize("table", ["dosing_administration", "dosing_slot", "cd_register_registerentry"])
def test_a_dose_updates_no_index_that_another_already_covers(table):
    """Every index of these tables takes an entry on each dose (the insert, the slot's status change, which is
    not a HOT update); one that repeats the leading columns of another serves no read and costs a patient with
    years of history a cold page on every dose (issue 13.7)."""
    with connection.cursor() as cursor:
        cursor.execute(INDEX_COLUMNS, [table])
        indexes = cursor.fetchall()
    plain = [(name, columns) for name, unique, partial, columns in indexes if not unique and not partial]
    covering = [(name, columns) for name, _, partial, columns in indexes if not partial]
    redundant = [
        (name, other)
        for name, columns in plain
        for other, longer in covering
        if other != name and len(longer) > len(columns) and longer[: len(columns)] == columns
    ]
    assert not redundant, redundant
