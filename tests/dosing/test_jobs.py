"""The scheduled jobs: slot creation and S11 missed slots, run twice and across clock changes."""

import datetime

import pytest

from dosing import services, tasks
from dosing.models import DosingSettings, Hold, Session, Slot, SlotStatus
from tests.factories import PatientFactory, PrescriptionFactory, TreatmentConsentFactory

from .conftest import at

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.fixture
def patients(clinic, prescriber, keyworker):
    made = []
    for _ in range(3):
        patient = PatientFactory(clinic=clinic)
        TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
        PrescriptionFactory(patient=patient, prescriber=prescriber, starts_on=datetime.date(2026, 1, 5))
        made.append(patient)
    return made


def windows(day):
    return {
        (slot.session, slot.window_start.astimezone(UTC).time(), slot.window_end.astimezone(UTC).time())
        for slot in Slot.objects.filter(date=day)
    }


def test_create_slots_makes_today_and_tomorrow_and_is_safe_to_run_twice(patients):
    now = at(datetime.date(2026, 11, 18), 7, 0)

    first = services.create_slots(now=now)
    second = services.create_slots(now=now)

    assert (first, second) == (12, 0)  # 3 patients x 2 sessions x 2 days, then nothing
    assert Slot.objects.count() == 12
    assert set(Slot.objects.values_list("status", flat=True)) == {SlotStatus.SCHEDULED}


def test_create_slots_skips_windows_already_over_and_patients_without_an_active_prescription(patients, clinic):
    ended = PrescriptionFactory._meta.model.objects.filter(patient=patients[0])
    ended.update(ends_on=datetime.date(2026, 11, 18))

    services.create_slots(now=at(datetime.date(2026, 11, 18), 12, 0))

    today = Slot.objects.filter(date=datetime.date(2026, 11, 18))
    assert set(today.values_list("session", flat=True)) == {Session.AFTERNOON}  # the morning is over
    assert not Slot.objects.filter(patient=patients[0], date=datetime.date(2026, 11, 19)).exists()


def test_create_slots_uses_each_clinics_own_time_zone(patients, clinic, other_clinic, prescriber, keyworker):
    other_clinic.time_zone = "America/Toronto"
    other_clinic.save()
    DosingSettings.objects.update_or_create(clinic=other_clinic, defaults={"sessions_per_day": 3})
    patient = PatientFactory(clinic=other_clinic)
    TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
    PrescriptionFactory(patient=patient, prescriber=prescriber, evening_dose_mg=50)

    # 01:00 UTC on 19 Nov is 20:00 on 18 Nov in Toronto (its evening session is open), 19 Nov in London
    services.create_slots(now=utc(2026, 11, 19, 1, 0))

    toronto = Slot.objects.filter(clinic=other_clinic).order_by("window_start").first()
    assert (toronto.date, toronto.session) == (datetime.date(2026, 11, 18), Session.EVENING)
    assert toronto.window_start == utc(2026, 11, 19, 0, 0)  # 19:00 EST
    assert Slot.objects.filter(clinic=clinic).order_by("date").first().date == datetime.date(2026, 11, 19)


def test_slot_windows_follow_the_clock_change_in_march(patients):
    # Sunday 29 Mar 2026: London goes from GMT to BST at 01:00 UTC.
    services.create_slots(now=utc(2026, 3, 28, 7, 0))  # Saturday 07:00 GMT: Saturday and Sunday
    services.create_slots(now=utc(2026, 3, 29, 0, 30))  # 00:30 GMT, before the change
    services.create_slots(now=utc(2026, 3, 29, 1, 30))  # 02:30 BST, after it: nothing new for Sunday

    assert windows(datetime.date(2026, 3, 28)) == {
        (Session.MORNING, datetime.time(8, 0), datetime.time(10, 30)),
        (Session.AFTERNOON, datetime.time(15, 30), datetime.time(18, 0)),
    }
    assert windows(datetime.date(2026, 3, 29)) == {
        (Session.MORNING, datetime.time(7, 0), datetime.time(9, 30)),
        (Session.AFTERNOON, datetime.time(14, 30), datetime.time(17, 0)),
    }
    assert Slot.objects.filter(date=datetime.date(2026, 3, 29)).count() == 6


def test_missed_slots_are_closed_at_the_local_window_end_across_the_march_change(patients):
    services.create_slots(now=utc(2026, 3, 29, 0, 30))

    assert services.close_missed_slots(now=utc(2026, 3, 29, 9, 29)) == 0  # 10:29 BST
    assert services.close_missed_slots(now=utc(2026, 3, 29, 9, 30)) == 3  # 10:30 BST
    assert services.close_missed_slots(now=utc(2026, 3, 29, 9, 31)) == 0  # run again: nothing left
    missed = Slot.objects.filter(status=SlotStatus.MISSED)
    assert set(missed.values_list("session", flat=True)) == {Session.MORNING}


def test_slots_and_missed_slots_across_the_october_change(patients):
    # Sunday 25 Oct 2026: London goes from BST back to GMT at 01:00 UTC.
    services.create_slots(now=utc(2026, 10, 24, 23, 30))  # 00:30 BST on Sunday: today is the 25th
    services.create_slots(now=utc(2026, 10, 25, 1, 30))  # 01:30 GMT, after the change: nothing new

    assert not Slot.objects.filter(date=datetime.date(2026, 10, 24)).exists()
    assert windows(datetime.date(2026, 10, 25)) == {
        (Session.MORNING, datetime.time(8, 0), datetime.time(10, 30)),
        (Session.AFTERNOON, datetime.time(15, 30), datetime.time(18, 0)),
    }
    assert Slot.objects.filter(date=datetime.date(2026, 10, 25)).count() == 6
    assert services.close_missed_slots(now=utc(2026, 10, 25, 10, 29)) == 0
    assert services.close_missed_slots(now=utc(2026, 10, 25, 10, 30)) == 3
    assert services.close_missed_slots(now=utc(2026, 10, 25, 10, 30)) == 0


def test_the_missed_day_hold_is_applied_once_however_often_the_job_runs(patients):
    for day in (15, 16, 17):
        services.create_slots(now=at(datetime.date(2026, 11, day), 7, 0), days_ahead=0)
        services.close_missed_slots(now=at(datetime.date(2026, 11, day), 18, 0))
        services.close_missed_slots(now=at(datetime.date(2026, 11, day), 18, 1))

    assert Hold.objects.filter(cleared_at__isnull=True).count() == 3
    assert {hold.missed_since for hold in Hold.objects.all()} == {datetime.date(2026, 11, 15)}


def test_the_celery_tasks_run_the_jobs(patients):
    assert tasks.create_slots_job.delay(days_ahead=0).get() >= 0
    assert tasks.close_missed_slots_job.delay().get() >= 0
