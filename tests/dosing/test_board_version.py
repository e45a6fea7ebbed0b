"""The board version: every change of what a board shows bumps it at commit, whatever the code path;
an unchanged board poll answers 304 after a constant few queries, and never to someone who may not see it.

These tests commit for real (transaction=True): the version is given at commit, by a deferred trigger.
"""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dosing import board_version, services
from dosing.models import (
    AbsenceReason,
    Alert,
    DosingSettings,
    Hold,
    PlannedAbsence,
    PrescriberLicence,
    Session,
    SignOutState,
    Slot,
)
from dosing.rules import RuleViolation
from tests.factories import PatientFactory, PrescriptionFactory, SlotFactory, TreatmentConsentFactory
from tests.factories.clinics import PASSWORD

from .conftest import TODAY, at, check, check_and_dose, dose

pytestmark = pytest.mark.django_db(transaction=True)

NINE = at(TODAY, 9, 0)


@pytest.fixture
def morning():
    with time_machine.travel(NINE, tick=False) as traveller:
        yield traveller


def version(clinic) -> int:
    return board_version.current(clinic.pk)


def bumps(clinic, change) -> bool:
    """True when `change()` (committed) gave the clinic's board a new version."""
    before = version(clinic)
    change()
    return version(clinic) != before


def _given(slot, nurse, witness):
    return check_and_dose(slot, nurse, witness, now=at(TODAY, 8, 30))


# --- every path that changes the board bumps the version ----------------------------------------------------------


def test_the_slot_job_bumps_the_board(clinic, prescription):
    assert bumps(clinic, lambda: services.create_slots(now=at(TODAY, 6, 0)))
    assert Slot.objects.filter(patient=prescription.patient).exists()


def test_arrival_check_dose_and_sign_out_each_bump_the_board(clinic, slot, nurse, second_nurse):
    assert bumps(clinic, lambda: services.slot_mark_arrived(slot=slot, nurse=nurse, now=at(TODAY, 8, 20)))
    assert bumps(clinic, lambda: check(slot, nurse, now=at(TODAY, 8, 25)))
    given = []
    assert bumps(clinic, lambda: given.append(dose(slot, nurse, second_nurse, now=at(TODAY, 8, 30))))
    assert bumps(
        clinic,
        lambda: services.sign_out_after_observation(
            administration=given[0], signed_out_by=nurse, state=SignOutState.WELL, now=at(TODAY, 8, 50)
        ),
    )


def test_a_correction_bumps_the_board(clinic, slot, nurse, second_nurse):
    given = _given(slot, nurse, second_nurse)
    assert bumps(
        clinic,
        lambda: services.correct_administration(
            administration=given, author=second_nurse, reason="Wrong amount recorded", dose_mg=Decimal("80"),
            route="iv", injection_site="left_arm", given_at=given.given_at, witness=nurse,
            witness_password=PASSWORD, now=at(TODAY, 9, 30),
        ),
    )  # fmt: skip


def test_withholding_and_refusing_bump_the_board(clinic, slot, afternoon_slot, nurse):
    assert bumps(clinic, lambda: services.withhold_dose(slot=slot, nurse=nurse, reason="Drowsy", now=NINE))
    assert bumps(
        clinic,
        lambda: services.record_refusal(slot=afternoon_slot, nurse=nurse, reason="Declined", now=at(TODAY, 16)),
    )


def test_an_adverse_event_its_alert_and_reading_the_alert_bump_the_board(clinic, slot, nurse, second_nurse):
    given = _given(slot, nurse, second_nurse)
    assert bumps(
        clinic,
        lambda: services.record_adverse_event(administration=given, recorded_by=nurse, kind="seizure", now=NINE),
    )
    alert = Alert.objects.filter(clinic=clinic).first()
    assert alert is not None
    assert bumps(clinic, lambda: services.alert_mark_read(alert=alert, user=alert.recipient, now=NINE))


def test_a_hold_and_its_clearing_bump_the_board(clinic, slot, prescriber):
    hold = []
    assert bumps(
        clinic,
        lambda: hold.append(
            Hold.objects.create(
                patient=slot.patient, prescription=slot.prescription, since=at(TODAY, 7, 0),
                missed_since=TODAY - datetime.timedelta(days=3), missed_days=3, reason="S7 · test",
            )
        ),
    )  # fmt: skip
    assert bumps(
        clinic,
        lambda: services.clear_hold(
            hold=hold[0], prescriber=prescriber, morning_dose_mg=Decimal("60"), afternoon_dose_mg=Decimal("60"),
            now=NINE,
        ),
    )  # fmt: skip


def test_the_missed_slots_job_bumps_the_board(clinic, slot):
    assert bumps(clinic, lambda: services.close_missed_slots(now=at(TODAY, 10, 31)))
    slot.refresh_from_db()
    assert slot.status == "missed"


def test_a_prescription_change_bumps_the_board(clinic, slot, prescriber):
    assert bumps(
        clinic,
        lambda: services.prescription_change(
            prescription=slot.prescription, prescriber=prescriber, now=at(TODAY, 7, 0), morning_dose_mg=Decimal("90")
        ),
    )


def test_bulk_updates_raw_sql_patient_and_settings_changes_bump_the_board(clinic, slot):
    assert bumps(clinic, lambda: Slot.objects.filter(clinic=clinic).update(status_reason="bulk"))
    with connection.cursor() as cursor:
        assert bumps(clinic, lambda: cursor.execute("UPDATE dosing_slot SET status_reason = 'raw' WHERE id = %s",
                                                    [slot.pk]))  # fmt: skip
    assert bumps(clinic, lambda: PatientFactory._meta.model.objects.filter(pk=slot.patient_id).update(
        preferred_name="Sammy"))  # fmt: skip
    assert bumps(clinic, lambda: DosingSettings.objects.filter(clinic=clinic).update(observation_minutes=20))


def test_a_change_bumps_only_its_own_clinic_and_a_refused_change_bumps_nothing(
    clinic, other_clinic, slot, nurse, second_nurse
):
    given = _given(slot, nurse, second_nurse)
    other = version(other_clinic)
    SlotFactory(prescription=slot.prescription, date=TODAY + datetime.timedelta(days=1), session=Session.MORNING)
    assert version(other_clinic) == other

    before = version(clinic)
    with pytest.raises(RuleViolation):  # S1: a second dose for the slot, rolled back whole
        dose(slot, nurse, second_nurse, now=at(TODAY, 8, 40))
    assert version(clinic) == before
    with pytest.raises(RuntimeError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(status_reason="never committed")
        raise RuntimeError
    assert version(clinic) == before
    assert given.slot_id == slot.pk


def test_one_transaction_of_many_changes_gives_one_new_version_per_clinic(clinic, other_clinic, slot):
    with transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(status_reason="one")
        Slot.objects.filter(pk=slot.pk).update(status_reason="two")
        DosingSettings.for_clinic(other_clinic)
    first, second = version(clinic), version(other_clinic)
    assert first and second and first != second
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dosing_boardtouch")
        assert cursor.fetchone()[0] == 0  # the touch rows are gone after commit


# --- the poll: 304 when unchanged, after a constant few queries ------------------------------------------------


def _patients(clinic, prescriber, keyworker, count):
    for _ in range(count):
        patient = PatientFactory(clinic=clinic)
        TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
        SlotFactory(prescription=PrescriptionFactory(patient=patient, prescriber=prescriber), date=TODAY,
                    session=Session.MORNING)  # fmt: skip


@pytest.mark.parametrize("url", ["/dosing/board/rows/", "/api/v1/dosing/board/"])
def test_an_unchanged_poll_answers_304_after_the_same_few_queries_for_3_and_40_patients(
    client_for, clinic, prescriber, keyworker, nurse, morning, django_assert_num_queries, url
):
    client = client_for(nurse)
    _patients(clinic, prescriber, keyworker, 3)
    tag = client.get(url)["ETag"]
    client.get(url, headers={"If-None-Match": tag})  # warm the session
    with CaptureQueriesContext(connection) as few:
        response = client.get(url, headers={"If-None-Match": tag})
    assert (response.status_code, response.content, response["ETag"]) == (304, b"", tag)
    queries = [q["sql"] for q in few.captured_queries]  # read now: the next request clears the log
    assert len([sql for sql in queries if "dosing_boardversion" in sql]) == 1
    assert not any("dosing_slot" in sql for sql in queries)

    _patients(clinic, prescriber, keyworker, 37)
    tag = client.get(url)["ETag"]
    with django_assert_num_queries(len(queries)):
        assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    # The session, the user with their roles, permissions and clinics in one statement (clinics.backends), the version.
    assert len(queries) == 3, queries
    assert "django_session" in queries[0] and "auth_group" in queries[1] and "clinics_user_clinics" in queries[1]


def test_the_board_page_gives_its_etag_and_a_dose_makes_the_next_poll_render(
    client_for, clinic, slot, nurse, second_nurse, morning
):
    client = client_for(nurse)
    page = client.get("/dosing/board/")
    tag = page["ETag"]
    assert f'data-etag="{tag.replace(chr(34), "&quot;")}"' in page.content.decode()
    assert client.get("/dosing/board/rows/", headers={"If-None-Match": tag}).status_code == 304

    check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 55))
    changed = client.get("/dosing/board/rows/", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed["ETag"] != tag
    assert "Under observation" in changed.content.decode()
    assert client.get("/dosing/board/rows/", headers={"If-None-Match": changed["ETag"]}).status_code == 304


def test_the_etag_runs_out_when_an_observation_ends(client_for, clinic, slot, nurse, second_nurse, morning):
    check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 50))  # observation ends at 09:07
    client = client_for(nurse)
    tag = client.get("/dosing/board/rows/")["ETag"]
    morning.move_to(at(TODAY, 9, 6))
    assert client.get("/dosing/board/rows/", headers={"If-None-Match": tag}).status_code == 304
    morning.move_to(at(TODAY, 9, 7))
    ended = client.get("/dosing/board/rows/", headers={"If-None-Match": tag})
    assert ended.status_code == 200 and "Sign out patient" in ended.content.decode()


def test_the_etag_runs_out_when_the_window_closes(client_for, clinic, slot, nurse, morning):
    client = client_for(nurse)
    tag = client.get("/dosing/board/rows/")["ETag"]
    morning.move_to(at(TODAY, 10, 30))
    client = client_for(nurse)  # ninety minutes on, the idle session has ended: sign in again
    closed = client.get("/dosing/board/rows/", headers={"If-None-Match": tag})
    assert closed.status_code == 200 and "window ended at 10:30" in closed.content.decode()


# --- a 304 never answers someone who may not see that board ------------------------------------------------------


def test_a_304_is_never_an_answer_to_someone_without_access_to_the_board(
    client, client_for, clinic, slot, nurse, other_nurse, keyworker, morning
):
    tag = client_for(nurse).get("/dosing/board/rows/")["ETag"]
    api_tag = client.get("/api/v1/dosing/board/")["ETag"]
    client.logout()
    sent = {"If-None-Match": tag}

    signed_out = client.get("/dosing/board/rows/", headers=sent)
    assert signed_out.status_code == 302 and "/accounts/login/" in signed_out["Location"]
    assert client.get("/api/v1/dosing/board/", headers={"If-None-Match": api_tag}).status_code == 401  # not signed in

    elsewhere = client_for(other_nurse).get("/dosing/board/rows/", headers=sent)
    assert elsewhere.status_code == 200 and slot.patient.family_name not in elsewhere.content.decode()
    assert elsewhere["ETag"] != tag
    asked = client.get(f"/api/v1/dosing/board/?clinic={clinic.pk}", headers={"If-None-Match": api_tag})
    assert asked.status_code == 404
    assert client.get("/api/v1/dosing/board/", headers={"If-None-Match": api_tag}).status_code == 200
    client.logout()

    assert client_for(keyworker).get("/dosing/board/rows/", headers=sent).status_code == 403
    assert client.get("/api/v1/dosing/board/", headers={"If-None-Match": api_tag}).status_code == 403


def test_a_planned_absence_and_a_prescriber_licence_bump_the_board(clinic, slot, nurse, prescriber, manager):
    """The board shows who is away and whose prescriber's licence needs review: those tables bump it too."""
    assert bumps(clinic, lambda: PlannedAbsence.objects.create(
        patient=slot.patient, starts_on=TODAY + datetime.timedelta(days=2), ends_on=TODAY + datetime.timedelta(days=4),
        reason=AbsenceReason.HOLIDAY, recorded_by=nurse, recorded_at=at(TODAY, 8),
    ))  # fmt: skip
    assert bumps(clinic, lambda: PrescriberLicence.objects.create(
        prescriber=prescriber, clinic=clinic, number="HO-TEST-1", valid_from=TODAY, valid_to=TODAY.replace(year=2027),
        recorded_by=manager, recorded_at=at(TODAY, 8),
    ))  # fmt: skip


@pytest.mark.parametrize("url", ["/dosing/board/rows/", "/api/v1/dosing/board/"])
def test_a_nurse_whose_role_is_taken_away_gets_no_304_on_the_next_poll(client_for, clinic, slot, nurse, morning, url):
    """The user's roles are read with the user on every request: nothing kept between polls can go stale."""
    client = client_for(nurse)
    tag = client.get(url)["ETag"]
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304

    nurse.groups.remove(Group.objects.get(name="nurse"))  # by whatever path: admin, the manager's page, SQL

    assert client.get(url, headers={"If-None-Match": tag}).status_code == 403
    nurse.groups.add(Group.objects.get(name="nurse"))
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304


def test_a_nurse_taken_off_the_clinic_or_a_closed_clinic_gets_no_304(client_for, clinic, slot, nurse, morning):
    client = client_for(nurse)
    tag = client.get("/dosing/board/rows/")["ETag"]

    nurse.clinics.remove(clinic)
    assert client.get("/dosing/board/rows/", headers={"If-None-Match": tag}).status_code == 403
    nurse.clinics.add(clinic)
    assert client.get("/dosing/board/rows/", headers={"If-None-Match": tag}).status_code == 304

    type(clinic).objects.filter(pk=clinic.pk).update(is_active=False)
    assert client.get("/dosing/board/rows/", headers={"If-None-Match": tag}).status_code == 403


def test_the_clinics_read_with_the_user_are_the_clinics_of_the_user(client_for, clinic, other_clinic, nurse, morning):
    """The clinic objects built from the user's one statement are whole: the header lists both, in name order."""
    nurse.clinics.add(other_clinic)
    page = client_for(nurse).get("/dosing/board/").content.decode()

    assert clinic.name in page and other_clinic.name in page


def test_setting_or_clearing_a_patients_clinical_alert_bumps_the_board(clinic, slot, keyworker):
    """Item 3 of issue 14: the alert is a board flag, so an open tablet must redraw when it changes."""
    from patients.services import patient_update

    patient = slot.patient
    assert bumps(clinic, lambda: patient_update(patient=patient, updated_by=keyworker, clinical_alert="Latex allergy"))
    assert bumps(clinic, lambda: patient_update(patient=patient, updated_by=keyworker, clinical_alert=""))
