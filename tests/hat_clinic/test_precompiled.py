"""hat_clinic.precompiled: a read written once per process answers exactly what its queryset answers, afresh."""

import datetime

import pytest
from django.db import DatabaseError, connection
from django.db.models import Count, F, Max

from dosing.models import Hold, PlannedAbsence, Slot
from hat_clinic.precompiled import (
    STAND_IN_DAY,
    STAND_IN_ID,
    STAND_IN_IDS,
    STAND_IN_MOMENT,
    AnyOf,
    Precompiled,
    PrecompiledInsert,
    PrecompiledUpdate,
)
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 18, 9, 0, tzinfo=datetime.UTC)
DAY = datetime.date(2026, 11, 18)


def absences(*, patient_id, first):
    """Model rows with an annotation and deferred fields: what a dose reads."""
    return (
        PlannedAbsence.objects.filter(patient_id=patient_id, ends_on__gte=first)
        .annotate(length=F("ends_on") - F("starts_on"))
        .only("starts_on", "ends_on", "reason")
        .order_by("starts_on", "pk")
    )


def hold_counts(*, patient_id, since):
    """Tuples (values_list), with an aggregate."""
    return (
        Hold.objects.filter(patient_id=patient_id, since__gte=since)
        .values_list("patient_id")
        .annotate(holds=Count("pk"))
        .order_by("patient_id")
    )


def absence(patient, keyworker, starts_on, days):
    return PlannedAbsence.objects.create(
        patient=patient,
        starts_on=starts_on,
        ends_on=starts_on + datetime.timedelta(days=days - 1),
        reason="hospital",
        recorded_by=keyworker,
        recorded_at=NOW,
    )


def test_model_rows_with_annotations_are_those_of_the_queryset_for_every_value(clinic, keyworker):
    read = Precompiled(absences, patient_id=STAND_IN_ID, first=STAND_IN_DAY)
    one, two = PatientFactory(clinic=clinic), PatientFactory(clinic=clinic)
    absence(one, keyworker, DAY, 3)
    absence(one, keyworker, DAY - datetime.timedelta(days=30), 2)
    absence(two, keyworker, DAY + datetime.timedelta(days=5), 4)

    for patient, first in [(one, DAY - datetime.timedelta(days=60)), (one, DAY), (two, DAY), (two, DAY.replace(2027))]:
        expected = list(absences(patient_id=patient.pk, first=first))
        got = read.all(patient_id=patient.pk, first=first)
        assert [(row.pk, row.starts_on, row.ends_on, row.reason, row.length) for row in got] == [
            (row.pk, row.starts_on, row.ends_on, row.reason, row.length) for row in expected
        ]
        assert all(row.get_deferred_fields() == expected[0].get_deferred_fields() for row in got)


def test_rows_are_read_afresh_on_every_call(clinic, keyworker):
    read = Precompiled(absences, patient_id=STAND_IN_ID, first=STAND_IN_DAY)
    patient = PatientFactory(clinic=clinic)
    assert read.first(patient_id=patient.pk, first=DAY) is None

    added = absence(patient, keyworker, DAY, 2)

    assert read.first(patient_id=patient.pk, first=DAY).pk == added.pk


def test_values_rows_are_tuples_as_values_list_gives(clinic):
    read = Precompiled(hold_counts, patient_id=STAND_IN_ID, since=STAND_IN_MOMENT)
    patient = PatientFactory(clinic=clinic)

    assert read.all(patient_id=patient.pk, since=NOW) == list(hold_counts(patient_id=patient.pk, since=NOW)) == []


def test_a_read_whose_sql_depends_on_a_value_is_refused_at_once():
    """`filter(x=None)` writes IS NULL, not a parameter: the stand-in must be a parameter, or nothing is kept."""

    def by_partner(*, patient_id, partner):
        return PlannedAbsence.objects.filter(patient_id=patient_id, withdrawn_by=partner)

    read = Precompiled(by_partner, patient_id=STAND_IN_ID, partner=None)
    with pytest.raises(RuntimeError, match="not a parameter"):
        read.all(patient_id=1, partner=None)


def test_related_objects_come_with_the_row_as_select_related_gives(clinic, keyworker, django_assert_num_queries):
    def with_patient(*, patient_id):
        return PlannedAbsence.objects.filter(patient_id=patient_id).select_related("patient__clinic", "withdrawn_by")

    patient = PatientFactory(clinic=clinic)
    absence(patient, keyworker, DAY, 2)
    (row,) = Precompiled(with_patient, patient_id=STAND_IN_ID).all(patient_id=patient.pk)

    with django_assert_num_queries(0):
        assert (row.patient.pk, row.patient.clinic.pk, row.withdrawn_by) == (patient.pk, clinic.pk, None)


def test_an_update_writes_those_columns_of_that_row_only_as_save_with_update_fields(clinic, keyworker):
    write = PrecompiledUpdate(PlannedAbsence, "ends_on", "withdrawn_at", "withdrawn_by", "notes")
    patient = PatientFactory(clinic=clinic)
    ours, other = absence(patient, keyworker, DAY, 3), absence(patient, keyworker, DAY.replace(2027), 2)
    ours.ends_on, ours.withdrawn_at, ours.withdrawn_by, ours.notes = DAY, NOW, keyworker, "Back early"
    ours.reason = "holiday"  # not one of the columns written

    write.save(ours)

    stored = PlannedAbsence.objects.get(pk=ours.pk)
    assert (stored.ends_on, stored.withdrawn_at, stored.withdrawn_by_id, stored.notes) == (DAY, NOW, keyworker.pk,
                                                                                          "Back early")  # fmt: skip
    assert stored.reason == "hospital"
    assert PlannedAbsence.objects.get(pk=other.pk).ends_on == other.ends_on
    ours.withdrawn_at, ours.withdrawn_by = None, None
    write.save(ours)
    assert PlannedAbsence.objects.filter(pk=ours.pk, withdrawn_at=None, withdrawn_by=None).exists()


def test_an_update_of_a_row_that_is_gone_fails_as_save_with_update_fields_does(clinic, keyworker):
    gone = absence(PatientFactory(clinic=clinic), keyworker, DAY, 1)
    PlannedAbsence.objects.filter(pk=gone.pk).delete()
    with pytest.raises(DatabaseError, match="no row was updated"):
        PrecompiledUpdate(PlannedAbsence, "notes").save(gone)


def test_an_update_of_the_key_or_a_field_save_would_set_itself_is_refused_at_once():
    with pytest.raises(RuntimeError, match="may write"):
        PrecompiledUpdate(Slot, "id")


def _stored(model, pk) -> dict:
    return {key: value for key, value in model.objects.filter(pk=pk).values().get().items() if key != "id"}


def test_an_insert_stores_each_object_as_bulk_create_does_and_gives_each_its_id(clinic, keyworker):
    patient = PatientFactory(clinic=clinic)

    def new(days: int, notes: str) -> PlannedAbsence:
        return PlannedAbsence(patient=patient, starts_on=DAY, ends_on=DAY + datetime.timedelta(days=days),
                              reason="court", notes=notes, recorded_by=keyworker, recorded_at=NOW)  # fmt: skip

    ours = PrecompiledInsert(PlannedAbsence).create([new(1, "one"), new(2, "two ' quoted")])
    theirs = PlannedAbsence.objects.bulk_create([new(1, "one"), new(2, "two ' quoted")])

    assert all(obj.pk is not None and not obj._state.adding for obj in ours)
    assert [_stored(PlannedAbsence, obj.pk) for obj in ours] == [_stored(PlannedAbsence, obj.pk) for obj in theirs]
    assert [obj.notes for obj in PlannedAbsence.objects.filter(pk__in=[o.pk for o in ours]).order_by("pk")] == [
        "one",
        "two ' quoted",
    ]


def test_an_insert_carries_updates_of_other_rows_in_one_statement(clinic, keyworker, django_assert_num_queries):
    """A dose's administration with its slot's status; register lines with the register's balance."""
    patient = PatientFactory(clinic=clinic)
    changed, other = absence(patient, keyworker, DAY, 3), absence(patient, keyworker, DAY.replace(2027), 2)
    changed.notes = "Back early"
    new = PlannedAbsence(patient=patient, starts_on=DAY, ends_on=DAY, reason="court", notes="new",
                         recorded_by=keyworker, recorded_at=NOW)  # fmt: skip

    with django_assert_num_queries(1):
        PrecompiledInsert(PlannedAbsence).create(
            [new], updating=[(PrecompiledUpdate(PlannedAbsence, "notes"), changed)]
        )

    assert PlannedAbsence.objects.get(pk=new.pk).notes == "new"
    assert PlannedAbsence.objects.get(pk=changed.pk).notes == "Back early"
    assert PlannedAbsence.objects.get(pk=other.pk).notes == other.notes


@pytest.mark.django_db(transaction=True)
def test_an_insert_whose_update_finds_no_row_fails_and_leaves_nothing(clinic, keyworker):
    """Called alone (autocommit), the INSERT and its UPDATEs are one transaction: no line without its balance."""
    patient = PatientFactory(clinic=clinic)
    gone = absence(patient, keyworker, DAY, 1)
    PlannedAbsence.objects.filter(pk=gone.pk).delete()
    new = PlannedAbsence(patient=patient, starts_on=DAY, ends_on=DAY, reason="court", notes="new",
                         recorded_by=keyworker, recorded_at=NOW)  # fmt: skip

    with pytest.raises(DatabaseError, match="no row was updated"):
        PrecompiledInsert(PlannedAbsence).create([new], updating=[(PrecompiledUpdate(PlannedAbsence, "notes"), gone)])

    assert not PlannedAbsence.objects.filter(notes="new").exists()


def test_an_insert_with_an_unsaved_related_object_is_refused_as_bulk_create_refuses_it(clinic, keyworker):
    unsaved = PatientFactory.build(clinic=clinic)
    absence = PlannedAbsence(patient=unsaved, starts_on=DAY, ends_on=DAY, reason="court", recorded_by=keyworker,
                             recorded_at=NOW)  # fmt: skip
    with pytest.raises(ValueError, match="unsaved related object"):
        PrecompiledInsert(PlannedAbsence).create([absence])
    assert not PlannedAbsence.objects.exists()


def test_an_insert_saves_each_object_by_save_while_a_signal_receiver_listens(clinic, keyworker):
    from django.db.models.signals import post_save

    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((instance.notes, created))

    patient = PatientFactory(clinic=clinic)
    new = [
        PlannedAbsence(patient=patient, starts_on=DAY, ends_on=DAY, reason="court", notes=notes, recorded_by=keyworker,
                       recorded_at=NOW)
        for notes in ("one", "two")
    ]  # fmt: skip
    changed = absence(patient, keyworker, DAY.replace(2027), 2)
    changed.notes = "Back early"
    post_save.connect(receiver, sender=PlannedAbsence)
    try:
        PrecompiledInsert(PlannedAbsence).create(new, updating=[(PrecompiledUpdate(PlannedAbsence, "notes"), changed)])
    finally:
        post_save.disconnect(receiver, sender=PlannedAbsence)

    assert heard == [("one", True), ("two", True)]
    assert PlannedAbsence.objects.count() == 3 and all(obj.pk for obj in new)
    assert PlannedAbsence.objects.get(pk=changed.pk).notes == "Back early", "the UPDATE is made on this path too"


def test_an_insert_of_a_model_with_a_save_of_its_own_is_refused_at_once():
    from clinics.models import User

    with pytest.raises(RuntimeError, match="save"):
        PrecompiledInsert(User)


def absence_days_by_patient(*, patient_ids, first):
    """An aggregate over a set of ids given as one parameter (AnyOf), as the statistics read their clinics."""
    return (
        PlannedAbsence.objects.filter(AnyOf(F("patient_id"), patient_ids), ends_on__gte=first)
        .values_list("patient_id")
        .annotate(absences=Count("pk"), last=Max("ends_on"))
        .order_by("patient_id")
    )


def test_a_set_of_ids_is_one_parameter_and_reads_what_in_reads(clinic, keyworker, django_assert_num_queries):
    read = Precompiled(absence_days_by_patient, patient_ids=STAND_IN_IDS, first=STAND_IN_DAY)
    patients = [PatientFactory(clinic=clinic) for _ in range(3)]
    for n, patient in enumerate(patients):
        for k in range(n + 1):
            absence(patient, keyworker, DAY + datetime.timedelta(days=10 * k), 2)
    ids = [patient.pk for patient in patients]

    for chosen in ([], ids[:1], ids[1:], ids, [*ids, -1]):
        expected = list(
            PlannedAbsence.objects.filter(patient_id__in=chosen, ends_on__gte=DAY)
            .values_list("patient_id")
            .annotate(absences=Count("pk"), last=Max("ends_on"))
            .order_by("patient_id")
        )
        with django_assert_num_queries(1):  # an empty set too is asked of the database, and answers nothing
            assert read.rows(patient_ids=chosen, first=DAY) == expected
    assert read.rows(patient_ids=ids, first=DAY) == [
        (ids[0], 1, DAY + datetime.timedelta(days=1)),
        (ids[1], 2, DAY + datetime.timedelta(days=11)),
        (ids[2], 3, DAY + datetime.timedelta(days=21)),
    ]
    assert read._statement("default").sql.count("%s") == 2  # the ids and the date, however many ids


def test_rows_are_for_values_list_reads_only():
    read = Precompiled(absences, patient_id=STAND_IN_ID, first=STAND_IN_DAY)
    with pytest.raises(RuntimeError, match="values_list"):
        read.rows(patient_id=1, first=DAY)


def _prepared(sql: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement = %s", [sql])
        return cursor.fetchone()[0] > 0


def test_a_read_planned_for_its_values_is_never_prepared_and_others_still_are(clinic, keyworker):
    """hat_clinic.env has psycopg prepare a statement run five times; a range aggregate's plan made for any values
    was slower than one made for its values (issue 15), so such a read says prepared=False."""
    ranged = Precompiled(absence_days_by_patient, prepared=False, patient_ids=STAND_IN_IDS, first=STAND_IN_DAY)
    prepared = Precompiled(hold_counts, patient_id=STAND_IN_ID, since=STAND_IN_MOMENT)
    patient = PatientFactory(clinic=clinic)
    absence(patient, keyworker, DAY, 2)
    threshold = connection.connection.prepare_threshold

    for _ in range(7):
        assert ranged.rows(patient_ids=[patient.pk], first=DAY) == [(patient.pk, 1, DAY + datetime.timedelta(days=1))]
        prepared.rows(patient_id=patient.pk, since=NOW)

    assert not _prepared(ranged._statement("default").sql.replace("%s", "$1", 1).replace("%s", "$2", 1))
    assert _prepared(prepared._statement("default").sql.replace("%s", "$1", 1).replace("%s", "$2", 1))
    assert connection.connection.prepare_threshold == threshold == 5
