"""The dosing pages: every safety rule S1-S12 tried through the forms (Django test client POSTs), refused
with its sentence next to the field and in the error summary, nothing recorded; plus permissions and
fixed query counts for the board, its poll fragment and the record-a-dose POST.
"""

import datetime
import html
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dosing import services
from dosing.models import (
    Administration,
    AdverseEvent,
    DosingSettings,
    Hold,
    ObservationSignOut,
    PreDoseCheck,
    Prescription,
    Session,
    Slot,
    SlotStatus,
)
from tests.factories import PatientFactory, PrescriptionFactory, SlotFactory, TreatmentConsentFactory
from tests.factories.clinics import PASSWORD

from .conftest import MORNING, TODAY, at, check, check_and_dose

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


def text(response) -> str:
    return html.unescape(response.content.decode())


def refused(response, rule: str, field: str | None = None) -> str:
    """A refusal page: status 400, the sentence in the error summary and (for a field) next to that field."""
    assert response.status_code == 400, response.status_code
    page = text(response)
    summary = page.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert summary.strip(), "no error summary"
    # Plain language: staff read the sentence, not the rule number (the API keeps `rule`).
    assert f"{rule} · " not in page, f"the page shows the rule code {rule}"
    if field:
        assert f'id="id_{field}_error">' in page, f"no {rule} error next to {field}"
    return summary


def good_check() -> dict:
    return {"sedation": "alert", "withdrawal_signs": "on", "breath_alcohol_ug": "0", "outcome": "proceed"}


def good_dose(witness) -> dict:
    return {"dose_mg": "100", "route": "iv", "injection_site": "left_arm", "witness": witness.pk,
            "witness_password": PASSWORD}  # fmt: skip


def dose_url(slot) -> str:
    return f"/dosing/slots/{slot.pk}/dose/"


# --- A whole session through the pages -------------------------------------------------------------------------


def test_a_whole_session_through_the_pages(client_for, slot, nurse, second_nurse, _morning):
    client = client_for(nurse)
    board = text(client.get("/dosing/board/"))
    assert "Sam Taylor" in board and "Mark arrived" in board and "100 mg" in board

    assert client.post(f"/dosing/slots/{slot.pk}/arrive/").status_code == 302
    assert "Pre-dose check" in text(client.get("/dosing/board/rows/"))

    form = client.get(f"/dosing/slots/{slot.pk}/check/")
    assert form.status_code == 200 and "Breath alcohol" in text(form)
    response = client.post(f"/dosing/slots/{slot.pk}/check/", good_check())
    assert response.status_code == 302 and response["Location"] == dose_url(slot)

    page = text(client.get(dose_url(slot)))
    assert 'value="100.00"' in page, "the dose is prefilled with the authorised dose"
    assert "Witness PIN (or password)" in page
    assert f'<option value="{second_nurse.pk}">' in page and f'<option value="{nurse.pk}">' not in page

    response = client.post(dose_url(slot), good_dose(second_nurse))
    assert response.status_code == 302, text(response)
    given = Administration.objects.get(slot=slot)
    rows = text(client.get("/dosing/board/rows/"))
    assert "Under observation" in rows and "15:00</span> left · until 09:15" in rows

    refused(client.post(f"/dosing/administrations/{given.pk}/sign-out/", {"state": "well"}), "S6")
    _morning.move_to(at(TODAY, 9, 16))
    rows = text(client.get("/dosing/board/rows/"))
    assert "Observation complete — sign out" in rows
    assert client.post(f"/dosing/administrations/{given.pk}/sign-out/", {"state": "well"}).status_code == 302
    assert "Signed out 09:16" in text(client.get("/dosing/board/rows/"))


# --- S1-S12 through the pages --------------------------------------------------------------------------------------


def test_s1_a_stale_dose_form_submitted_twice_is_refused_not_a_second_dose(client_for, slot, nurse, second_nurse):
    check(slot, nurse)
    client = client_for(nurse)
    assert client.post(dose_url(slot), good_dose(second_nurse)).status_code == 302
    summary = refused(client.post(dose_url(slot), good_dose(second_nurse)), "S1")
    assert "Already given at 09:00 by" in summary
    assert Administration.objects.filter(slot=slot).count() == 1


def test_s2_no_dose_in_a_session_the_clinic_does_not_run(client_for, prescription, clinic, nurse, second_nurse):
    afternoon = SlotFactory(prescription=prescription, date=TODAY, session=Session.AFTERNOON)
    with time_machine.travel(at(TODAY, 16, 0), tick=False):
        check(afternoon, nurse, now=at(TODAY, 16, 0))
        DosingSettings.objects.filter(clinic=clinic).update(sessions_per_day=1)
        summary = refused(client_for(nurse).post(dose_url(afternoon), good_dose(second_nurse)), "S2")
    assert "no afternoon dose" in summary
    assert not Administration.objects.exists()


def test_s3_an_injectable_dose_too_soon_is_refused_with_when_it_may_be_given(
    client_for, slot, prescription, nurse, second_nurse
):
    evening = SlotFactory(prescription=prescription, date=TODAY - datetime.timedelta(days=1), session="evening")
    Administration.objects.create(
        slot=evening, patient=slot.patient, prescription=prescription, drug=prescription.drug,
        dose_mg=Decimal("100"), prescribed_dose_mg=Decimal("100"), route="iv", given_at=at(TODAY, 7, 0),
        nurse=nurse, witness=second_nurse, observation_ends_at=at(TODAY, 7, 15), recorded_at=at(TODAY, 7, 0),
    )  # fmt: skip
    check(slot, nurse)
    summary = refused(client_for(nurse).post(dose_url(slot), good_dose(second_nurse)), "S3")
    assert "the minimum interval of 3 h ends at 10:00" in summary


def test_s4_a_dose_above_the_prescription_is_refused_next_to_the_dose_with_values_kept(
    client_for, slot, nurse, second_nurse
):
    check(slot, nurse)
    response = client_for(nurse).post(dose_url(slot), {**good_dose(second_nurse), "dose_mg": "120"})
    summary = refused(response, "S4", "dose_mg")
    assert "120 mg is more than the prescribed 100 mg for the morning session" in summary
    assert 'value="120"' in text(response), "the nurse's input is kept"
    assert not Administration.objects.exists()


def test_s5_no_dose_without_a_check_and_an_intoxicated_patient_is_withheld(client_for, slot, nurse, second_nurse):
    client = client_for(nurse)
    assert "No dose without a pre-dose check" in refused(client.post(dose_url(slot), good_dose(second_nurse)), "S5")
    drunk = {**good_check(), "breath_alcohol_ug": "80"}
    summary = refused(client.post(f"/dosing/slots/{slot.pk}/check/", drunk), "S5", "outcome")
    assert "An intoxicated patient is withheld" in summary
    assert not PreDoseCheck.objects.exists()


def test_s5_a_reduced_dose_needs_a_prescriber(client_for, slot, nurse, second_nurse):
    reduced = {**good_check(), "outcome": "reduced", "reduced_dose_mg": "50", "authorised_by": second_nurse.pk}
    refused(client_for(nurse).post(f"/dosing/slots/{slot.pk}/check/", reduced), "S5", "authorised_by")


def test_s6_sign_out_before_the_observation_ends_is_refused(client_for, slot, nurse, second_nurse):
    given = check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 50))  # given 08:52, until 09:07
    summary = refused(client_for(nurse).post(f"/dosing/administrations/{given.pk}/sign-out/", {"state": "well"}), "S6")
    assert "Observation ends at 09:07; sign-out is possible in 7 min" in summary
    assert not ObservationSignOut.objects.exists()


def test_s7_a_held_patient_is_refused_and_the_prescriber_restarts_them(
    client_for, slot, prescription, nurse, prescriber
):
    hold = Hold.objects.create(
        patient=slot.patient, prescription=prescription, since=at(TODAY, 7, 0), missed_days=3,
        missed_since=datetime.date(2026, 11, 14), reason="S7 · No dose: 3 consecutive days missed since 14 Nov; "
        "prescriber review required",
    )  # fmt: skip
    board = text(client_for(nurse).get("/dosing/board/"))
    assert "ON HOLD" in board and "3 consecutive days missed since 14 Nov" in board
    summary = refused(client_for(nurse).post(f"/dosing/slots/{slot.pk}/check/", good_check()), "S7")
    assert "No dose: 3 consecutive days missed since 14 Nov; prescriber review required" in summary

    refused(client_for(nurse).post(f"/dosing/holds/{hold.pk}/", {"morning_dose_mg": "50"}), "S7", "prescriber")
    review = text(client_for(prescriber).get("/dosing/holds/"))
    assert "Sam Taylor" in review and "14 Nov" in review
    response = client_for(prescriber).post(
        f"/dosing/holds/{hold.pk}/", {"morning_dose_mg": "50", "afternoon_dose_mg": "50", "notes": "Seen"}
    )
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.cleared_by == prescriber and hold.restart_prescription.morning_dose_mg == 50


def test_s8_the_wrong_route_and_a_take_home_injectable_are_refused(
    client_for, slot, prescription, patient, nurse, second_nurse, prescriber
):
    check(slot, nurse)
    summary = refused(client_for(nurse).post(dose_url(slot), {**good_dose(second_nurse), "route": "im"}), "S8", "route")
    assert "The prescription is for intravenous use, not intramuscular" in summary

    change = {"route": "iv", "supply": "take_home", "morning_dose_mg": "100", "afternoon_dose_mg": "100",
              "daily_max_mg": "300", "starts_on": TODAY.isoformat()}  # fmt: skip
    response = client_for(prescriber).post(f"/dosing/prescriptions/{prescription.pk}/change/", change)
    assert "Injectable diamorphine is never supplied to take home" in refused(response, "S8", "supply")
    assert Prescription.objects.count() == 1


def test_s8_no_prescription_without_treatment_consent(client_for, clinic, prescriber):
    patient = PatientFactory(clinic=clinic)
    data = {"drug": "diamorphine_inj", "route": "iv", "supply": "supervised", "morning_dose_mg": "80",
            "afternoon_dose_mg": "80", "daily_max_mg": "200", "starts_on": TODAY.isoformat()}  # fmt: skip
    response = client_for(prescriber).post(f"/dosing/patients/{patient.pk}/prescriptions/new/", data)
    assert "the patient has no live treatment consent" in refused(response, "S8")
    assert not Prescription.objects.exists()


def test_s9_own_witness_no_witness_and_a_wrong_pin_are_refused(client_for, slot, nurse, second_nurse):
    check(slot, nurse)
    client = client_for(nurse)
    own = refused(client.post(dose_url(slot), good_dose(nurse)), "S9", "witness")
    assert "The witness must be another member of staff" in own
    refused(client.post(dose_url(slot), {**good_dose(second_nurse), "witness": ""}), "S9", "witness")
    wrong = refused(
        client.post(dose_url(slot), {**good_dose(second_nurse), "witness_password": "0000"}), "S9", "witness_password"
    )
    assert "The witness's PIN (or password) is not correct" in wrong
    assert not Administration.objects.exists()


def test_s9_a_witness_pin_confirms_the_dose(client_for, slot, nurse, second_nurse):
    from clinics.services import witness_pin_set

    witness_pin_set(user=second_nurse, pin="482916")
    check(slot, nurse)
    response = client_for(nurse).post(dose_url(slot), {**good_dose(second_nurse), "witness_password": "482916"})
    assert response.status_code == 302
    assert Administration.objects.get(slot=slot).witness == second_nurse


def test_s10_a_correction_is_shown_beside_the_original_and_cannot_be_repeated(client_for, slot, nurse, second_nurse):
    given = check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 40))
    client = client_for(second_nurse)
    url = f"/dosing/administrations/{given.pk}/correct/"
    correction = {"reason": "Recorded the wrong amount", "dose_mg": "90", "route": "iv", "injection_site": "left_arm",
                  "given_at": "2026-11-18T08:42", "witness": nurse.pk, "witness_password": PASSWORD}  # fmt: skip
    refused(client.post(url, {**correction, "reason": ""}), "S10", "reason")
    assert client.post(url, correction).status_code == 302
    assert "This entry has already been corrected" in refused(client.post(url, correction), "S10")

    page = text(client.get(f"/dosing/slots/{slot.pk}/"))
    assert "Original entry" in page and "replaced" in page and "Correction, recorded" in page
    assert "100 mg" in page and "90 mg" in page and "Recorded the wrong amount" in page
    assert Administration.objects.get(pk=given.pk).dose_mg == 100, "the original is never changed"


def test_s11_no_dose_after_the_window(client_for, slot, nurse, second_nurse):
    check(slot, nurse)
    with time_machine.travel(at(TODAY, 10, 31), tick=False):
        summary = refused(client_for(nurse).post(dose_url(slot), good_dose(second_nurse)), "S11")
    assert "The morning window ended at 10:30; this slot is missed" in summary


def test_s12_an_adverse_event_needs_the_naloxone_facts_and_alerts_the_prescriber(
    client_for, slot, nurse, second_nurse, prescriber
):
    given = check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 40))
    client = client_for(nurse)
    url = f"/dosing/administrations/{given.pk}/adverse-event/"
    refused(client.post(url, {"kind": "naloxone"}), "S12", "naloxone_dose_mg")
    assert not AdverseEvent.objects.exists()

    data = {"kind": "naloxone", "occurred_at": "2026-11-18T08:50", "naloxone_dose_mg": "0.4",
            "naloxone_given_at": "2026-11-18T08:51"}  # fmt: skip
    response = client.post(url, data, follow=True)
    assert "Alerted: Priya" in text(response)
    assert prescriber.dosing_alerts.count() == 1

    alerts = text(client_for(prescriber).get("/dosing/alerts/"))
    assert "Naloxone given" in alerts and "Sam Taylor" in alerts
    alert = prescriber.dosing_alerts.get()
    assert client_for(prescriber).post(f"/dosing/alerts/{alert.pk}/read/").status_code == 302
    alert.refresh_from_db()
    assert alert.read_at is not None


# --- Other actions ------------------------------------------------------------------------------------------------


def test_refusal_and_withholding_need_a_reason_and_close_the_slot(client_for, slot, afternoon_slot, nurse):
    client = client_for(nurse)
    response = client.post(f"/dosing/slots/{slot.pk}/refuse/", {"reason": ""})
    assert response.status_code == 400 and "This field is required" in text(response)
    assert client.post(f"/dosing/slots/{slot.pk}/refuse/", {"reason": "Not today"}).status_code == 302
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.REFUSED
    summary = refused(client.post(f"/dosing/slots/{slot.pk}/withhold/", {"reason": "Late"}), "S11")
    assert "already closed as refused" in summary


def test_prescriptions_page_create_change_titrate_and_stop(client_for, patient, prescriber, nurse):
    client = client_for(prescriber)
    data = {"drug": "diamorphine_inj", "route": "iv", "supply": "supervised", "morning_dose_mg": "80",
            "afternoon_dose_mg": "80", "daily_max_mg": "200", "starts_on": TODAY.isoformat()}  # fmt: skip
    assert client_for(nurse).post(f"/dosing/patients/{patient.pk}/prescriptions/new/", data).status_code == 403
    client = client_for(prescriber)
    assert client.post(f"/dosing/patients/{patient.pk}/prescriptions/new/", data).status_code == 302
    first = Prescription.objects.get()
    page = text(client.get(f"/dosing/prescriptions/{first.pk}/change/?titration=1"))
    assert "Titration step" in page and 'id="id_is_titration" checked' in page
    step = {**data, "morning_dose_mg": "90", "is_titration": "on"}
    del step["drug"]
    assert client.post(f"/dosing/prescriptions/{first.pk}/change/", step).status_code == 302
    current = Prescription.objects.live().get()
    assert (current.supersedes, current.is_titration, current.morning_dose_mg) == (first, True, 90)
    assert client.post(f"/dosing/prescriptions/{current.pk}/stop/", {"reason": "Moved away"}).status_code == 302
    history = text(client_for(nurse).get(f"/dosing/patients/{patient.pk}/prescriptions/"))
    # The history reads as sentences (issue 14.8).
    assert "changed the morning dose from 80 mg to 90 mg as a titration step on 18/11/2026 at 09:00." in history
    assert "stopped the injectable diamorphine prescription: Moved away on 18/11/2026 at 09:00." in history


# --- Permissions ---------------------------------------------------------------------------------------------------


def test_outsiders_get_404_and_other_roles_403(client_for, slot, nurse, second_nurse, other_nurse, keyworker):
    given = check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 40))
    for url in (
        f"/dosing/slots/{slot.pk}/",
        f"/dosing/slots/{slot.pk}/check/",
        dose_url(slot),
        f"/dosing/administrations/{given.pk}/sign-out/",
        f"/dosing/administrations/{given.pk}/correct/",
        f"/dosing/patients/{slot.patient.pk}/prescriptions/",
    ):
        assert client_for(other_nurse).get(url).status_code == 404, url
        assert client_for(keyworker).get(url).status_code == 403, url
    assert client_for(other_nurse).post(f"/dosing/slots/{slot.pk}/arrive/").status_code == 404
    assert client_for(keyworker).get("/dosing/board/").status_code == 403
    assert client_for(nurse).get("/dosing/holds/").status_code == 403
    assert client_for(nurse).get("/dosing/alerts/").status_code == 403
    assert "Sam Taylor" not in text(client_for(other_nurse).get("/dosing/board/"))


def test_the_navigation_shows_the_dosing_pages_to_the_right_roles(client_for, nurse, prescriber):
    nurse_home = text(client_for(nurse).get("/"))
    assert "Dosing board" in nurse_home and "Holds to review" not in nurse_home
    prescriber_home = text(client_for(prescriber).get("/"))
    assert all(label in prescriber_home for label in ("Dosing board", "Holds to review", "Alerts"))


# --- Fixed numbers of queries ---------------------------------------------------------------------------------------


def add_patients(clinic, prescriber, keyworker, count) -> list[Slot]:
    slots = []
    for _ in range(count):
        patient = PatientFactory(clinic=clinic)
        TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
        prescription = PrescriptionFactory(patient=patient, prescriber=prescriber)
        slots.append(SlotFactory(prescription=prescription, date=TODAY, session=Session.MORNING))
    return slots


def fill_stages(slots, nurse, witness):
    """Spread the slots over the board's stages so every kind of row is rendered."""
    for index, slot in enumerate(slots):
        if index % 4 == 1:
            services.slot_mark_arrived(slot=slot, nurse=nurse, now=at(TODAY, 8, 30))
        elif index % 4 == 2:
            check(slot, nurse, now=at(TODAY, 8, 30))
        elif index % 4 == 3:
            check_and_dose(slot, nurse, witness, now=at(TODAY, 8, 30))


@pytest.mark.parametrize("url", ["/dosing/board/", "/dosing/board/rows/"])
def test_the_board_page_and_its_poll_use_the_same_queries_for_5_and_150_patients(
    client_for, clinic, prescriber, keyworker, nurse, second_nurse, django_assert_num_queries, url
):
    client = client_for(nurse)
    fill_stages(add_patients(clinic, prescriber, keyworker, 5), nurse, second_nurse)
    client.get(url)  # warm the session and the per-process caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    fill_stages(add_patients(clinic, prescriber, keyworker, 145), nurse, second_nurse)
    with django_assert_num_queries(len(captured)):
        response = client.get(url)
    assert text(response).count('class="board-row ') == 150


def test_recording_a_dose_uses_the_same_queries_for_5_and_150_patients(
    client_for, clinic, prescriber, keyworker, nurse, second_nurse, django_assert_num_queries
):
    client = client_for(nurse)
    few = add_patients(clinic, prescriber, keyworker, 5)
    for slot in few:
        check(slot, nurse)
    client.get("/dosing/board/")
    with CaptureQueriesContext(connection) as captured:
        assert client.post(dose_url(few[0]), good_dose(second_nurse)).status_code == 302
    many = add_patients(clinic, prescriber, keyworker, 145)
    check(many[-1], nurse)
    with django_assert_num_queries(len(captured)):
        assert client.post(dose_url(many[-1]), good_dose(second_nurse)).status_code == 302
