"""Patient pages: list and search, record, registration with duplicates, forms, photo, access log, permissions."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from patients import services
from patients.models import (
    AccessLogEntry,
    ConsentDecision,
    ConsentEntry,
    ConsentKind,
    DischargeReason,
    OutcomeInterview,
    Patient,
    PatientStatus,
)
from patients.validators import PHOTO_MAX_BYTES
from tests.factories import PatientFactory

from .conftest import INVALID_NHS, VALID_NHS, image_upload, top_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _on_2_march_2026():
    with time_machine.travel("2026-03-02 10:00:00+00:00"):
        yield


def url(name, patient=None):
    return reverse(name, args=[patient.pk]) if patient else reverse(name)


# --- List and search ------------------------------------------------------------------------


def test_the_list_shows_only_patients_of_the_users_clinics(client_for, nurse, patient, other_patient):
    response = client_for(nurse).get(url("patient-list"))

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [patient]
    assert "Other" not in response.content.decode()


@pytest.mark.parametrize("search", ["morg", "Alex Morgan", "943 476 5919", "9434765"])
def test_search_by_name_or_nhs_number(client_for, nurse, clinic, patient, search):
    PatientFactory(clinic=clinic, given_name="Chris", family_name="Evans", nhs_number="4010232137")

    response = client_for(nurse).get(url("patient-list"), {"q": search})

    assert list(response.context["page"].object_list) == [patient]


def test_search_never_reaches_another_clinic(client_for, nurse, other_patient):
    response = client_for(nurse).get(url("patient-list"), {"q": "Other"})

    assert list(response.context["page"].object_list) == []
    assert "No patients match that search in your clinics." in response.content.decode()


def test_status_filter(client_for, nurse, clinic, patient, keyworker):
    gone = PatientFactory(clinic=clinic, family_name="Zed")
    services.patient_discharge(patient=gone, reason=DischargeReason.DIED, discharged_by=keyworker)

    response = client_for(nurse).get(url("patient-list"), {"status": PatientStatus.DISCHARGED})

    assert list(response.context["page"].object_list) == [gone]


@pytest.mark.parametrize("count", [5, 200])
def test_the_list_uses_the_same_number_of_queries_for_5_and_200_patients(
    client_for, nurse, clinic, keyworker, count, django_assert_num_queries
):
    PatientFactory.create_batch(count, clinic=clinic, keyworker=keyworker)
    client = client_for(nurse)

    # The session (in PostgreSQL: sign-in never depends on Redis), the user with their roles, permissions and
    # clinics in one statement (clinics.backends), the foundation's other look-ups, then one count and one page
    # of patients (keyworker and current episode joined in), and the drug-alert banner's one query of every
    # staff page: nothing per row.
    with django_assert_num_queries(8):
        response = client.get(url("patient-list"))

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == min(count, 25)


# --- Record ---------------------------------------------------------------------------------


def test_the_record_shows_details_consents_interviews_and_history(client_for, keyworker, patient, partner):
    services.consent_record(
        patient=patient, kind=ConsentKind.TREATMENT, decision=ConsentDecision.GIVEN, recorded_by=keyworker
    )
    services.patient_update(patient=patient, updated_by=keyworker, gp_practice="Marton Medical Centre")

    response = client_for(keyworker).get(url("patient-detail", patient))

    page = response.content.decode()
    assert response.status_code == 200
    for text in (
        "943 476 5919",
        "Only in person at the clinic",
        "Marton Medical Centre",
        "Data sharing with Tees Housing",
        "Not asked",
        "No outcome interviews yet.",
        "Record consent",
        "Discharge",
    ):
        assert text in page
    assert "Access log" not in page  # managers only


def test_viewing_the_record_writes_one_access_log_entry(client_for, nurse, patient):
    client_for(nurse).get(url("patient-detail", patient))

    entry = AccessLogEntry.objects.get()
    assert (entry.user, entry.patient, entry.what, entry.channel) == (nurse, patient, "record", "ui")


@pytest.mark.parametrize(
    "name",
    [
        "patient-detail",
        "patient-photo",
        "patient-access-log",
        "patient-history",
        "patient-edit",
        "patient-consent-new",
        "patient-outcome-new",
        "patient-discharge",
    ],
)
def test_another_clinics_staff_get_404(
    client_for, other_nurse, other_manager, other_keyworker, keyworker, patient, name
):
    services.patient_photo_set(patient=patient, upload=image_upload(), set_by=keyworker)
    for outsider in (other_nurse, other_manager, other_keyworker):
        assert client_for(outsider).get(url(name, patient)).status_code == 404
    assert not AccessLogEntry.objects.exists()


@pytest.mark.parametrize("name", ["patient-list", "patient-detail", "patient-photo", "patient-access-log"])
def test_commissioners_never_reach_a_patient_page(client_for, commissioner, patient, name):
    assert client_for(commissioner).get(url(name, None if name == "patient-list" else patient)).status_code == 403


def test_anonymous_users_are_sent_to_sign_in(client, patient):
    response = client.get(url("patient-detail", patient))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "name", ["patient-edit", "patient-consent-new", "patient-outcome-new", "patient-discharge", "patient-readmit"]
)
def test_nurses_and_managers_cannot_change_a_record(client_for, nurse, manager, patient, name):
    for wrong_role in (nurse, manager):
        assert client_for(wrong_role).get(url(name, patient)).status_code == 403
        assert client_for(wrong_role).post(url(name, patient), {}).status_code == 403


def test_nurses_cannot_register_patients(client_for, nurse):
    assert client_for(nurse).get(url("patient-register")).status_code == 403


# --- Registration ---------------------------------------------------------------------------


def registration(**overrides):
    return {
        "given_name": "Jo",
        "family_name": "Bloggs",
        "date_of_birth": "1985-04-01",
        "sex": "female",
        "nhs_number": "",
        "contact_route": "at_clinic",
        "started_on": "2026-03-02",
        **overrides,
    }


def test_a_keyworker_registers_a_patient(client_for, keyworker, clinic):
    response = client_for(keyworker).post(
        url("patient-register"), registration(nhs_number="943 476 5919", keyworker=keyworker.pk)
    )

    assert response.status_code == 302, response.context["form"].errors
    patient = Patient.objects.get()
    assert response["Location"] == url("patient-detail", patient)
    assert (patient.clinic, patient.nhs_number, patient.keyworker) == (clinic, VALID_NHS, keyworker)
    assert patient.episodes.get().started_on == datetime.date(2026, 3, 2)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nhs_number": INVALID_NHS}, "NHS number is not valid: its last digit does not match the check digit."),
        ({"nhs_number": "12345"}, "NHS number must be exactly 10 digits (spaces are fine)."),
        ({"date_of_birth": "2026-03-03"}, "Date of birth cannot be in the future; please check it."),
        ({"date_of_birth": "1900-01-01"}, "Date of birth gives an age of 126; patients are 16 to 100 years old"),
    ],
)
def test_bad_registration_input_is_refused_with_a_message_naming_the_field(client_for, keyworker, overrides, message):
    response = client_for(keyworker).post(url("patient-register"), registration(**overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Patient.objects.exists()


def test_the_error_summary_names_each_field_once_and_links_to_it(client_for, keyworker):
    """A sentence that names its field is not labelled again ("NHS number: NHS number is..."); one that does
    not is put under its field's label, so the summary always says which field."""
    response = client_for(keyworker).post(url("patient-register"), registration(nhs_number=INVALID_NHS, email="no"))

    page = response.content.decode()
    summary = page[page.index('class="error-summary"') : page.index("</ul>", page.index('class="error-summary"'))]
    assert '<a href="#id_nhs_number">NHS number is not valid' in summary
    assert '<a href="#id_email">Email: Enter a valid email address.' in summary


def test_a_possible_duplicate_is_shown_and_needs_confirmation(client_for, keyworker, patient):
    client = client_for(keyworker)
    same_person = registration(given_name="Alex", family_name="Morgan", date_of_birth="1980-05-17")

    response = client.post(url("patient-register"), same_person)

    page = response.content.decode()
    assert response.status_code == 200 and Patient.objects.count() == 1
    assert "This person may already be registered" in page
    assert url("patient-detail", patient) in page  # own clinic: shown with a link

    response = client.post(url("patient-register"), {**same_person, "confirm_duplicates": "on"})
    assert response.status_code == 302 and Patient.objects.count() == 2


def test_a_duplicate_in_another_clinic_is_only_said_to_exist(client_for, keyworker, other_patient):
    same_person = registration(
        given_name=other_patient.given_name,
        family_name=other_patient.family_name,
        date_of_birth=other_patient.date_of_birth.isoformat(),
    )
    response = client_for(keyworker).post(url("patient-register"), same_person)

    page = response.content.decode()
    assert "A possible match is registered at another clinic." in page
    assert url("patient-detail", other_patient) not in page and "Darlington" not in page
    assert Patient.objects.count() == 1


def test_the_same_nhs_number_cannot_be_confirmed_past(client_for, keyworker, patient):
    response = client_for(keyworker).post(
        url("patient-register"), registration(nhs_number=VALID_NHS, confirm_duplicates="on")
    )

    page = response.content.decode()
    assert "NHS number: a patient with this NHS number is already registered." in page
    assert Patient.objects.count() == 1


def test_editing_details(client_for, keyworker, patient):
    data = registration(given_name="Alex", family_name="Morgan", date_of_birth="1980-05-17", nhs_number=VALID_NHS)
    data.update(preferred_name="Lex", contact_route="text", keyworker=keyworker.pk)
    response = client_for(keyworker).post(url("patient-edit", patient), data)

    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.preferred_name, patient.contact_route) == ("Lex", "text")


# --- Consent, TOP, discharge forms ---------------------------------------------------------------


def test_consent_form_records_and_withdraws(client_for, keyworker, patient, partner):
    client = client_for(keyworker)
    given = {"kind": "data_sharing", "partner": partner.pk, "decision": "given"}
    assert client.post(url("patient-consent-new", patient), given).status_code == 302
    assert client.post(url("patient-consent-new", patient), {**given, "decision": "withdrawn"}).status_code == 302

    assert list(ConsentEntry.objects.values_list("decision", flat=True)) == ["withdrawn", "given"]
    page = client.get(url("patient-detail", patient)).content.decode()
    assert "Withdrawn" in page and "Given" in page


def test_consent_form_refuses_a_partner_of_another_clinic(client_for, keyworker, patient, other_partner):
    response = client_for(keyworker).post(
        url("patient-consent-new", patient), {"kind": "data_sharing", "partner": other_partner.pk, "decision": "given"}
    )
    assert response.status_code == 200 and not ConsentEntry.objects.exists()


def test_top_form_saves_an_interview(client_for, keyworker, patient):
    response = client_for(keyworker).post(url("patient-outcome-new", patient), top_form_data())

    assert response.status_code == 302
    assert OutcomeInterview.objects.get().heroin_days == 20


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("heroin_days", 29, "Days used street heroin is a number of days in the last 28 days: from 0 to 28."),
        ("injected_days", -1, "Days injected is a number of days in the last 28 days: from 0 to 28."),
        ("psychological_health", 21, "Psychological health is a rating from 0 to 20."),
    ],
)
def test_top_form_refuses_values_out_of_bounds(client_for, keyworker, patient, field, value, message):
    response = client_for(keyworker).post(url("patient-outcome-new", patient), top_form_data(**{field: value}))

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert not OutcomeInterview.objects.exists()


def test_discharge_and_readmit_through_the_pages(client_for, keyworker, patient):
    client = client_for(keyworker)
    response = client.post(url("patient-discharge", patient), {"reason": "to_oral", "notes": ""})
    assert response.status_code == 302

    again = client.post(url("patient-discharge", patient), {"reason": "to_oral"})
    assert "This patient was already discharged on 2 March 2026; nothing was changed." in again.content.decode()

    response = client.post(url("patient-readmit", patient), {})
    assert response.status_code == 302, response.context["form"].errors
    assert patient.episodes.count() == 2


# --- Photo ----------------------------------------------------------------------------------------


def test_photo_upload_and_serving(client_for, keyworker, nurse, patient, settings):
    response = client_for(keyworker).post(url("patient-photo-upload", patient), {"photo": image_upload()})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.photo.name.startswith("patient-photos/") and str(patient.pk) not in patient.photo.name
    assert (settings.MEDIA_ROOT / patient.photo.name).exists()

    response = client_for(nurse).get(url("patient-photo", patient))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"  # a JPEG, re-encoded
    assert AccessLogEntry.objects.filter(user=nurse, what="photo").count() == 1


def test_the_photo_is_404_for_another_clinic_and_login_for_anonymous(
    client, client_for, other_nurse, patient, keyworker
):
    services.patient_photo_set(patient=patient, upload=image_upload(), set_by=keyworker)

    assert client.get(url("patient-photo", patient)).status_code == 302
    assert client_for(other_nurse).get(url("patient-photo", patient)).status_code == 404


def test_a_file_that_is_not_an_image_is_refused(client_for, keyworker, patient):
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("face.jpg", b"<?php echo 'hi'; ?>", content_type="image/jpeg")
    response = client_for(keyworker).post(url("patient-photo-upload", patient), {"photo": fake})

    assert response.context["form"].errors["photo"] == ["Photo must be an image file (JPEG, PNG or similar)."]
    patient.refresh_from_db()
    assert not patient.photo


def test_a_photo_over_5_mb_is_refused(client_for, keyworker, patient):
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = SimpleUploadedFile("face.png", b"\x89PNG" + b"0" * PHOTO_MAX_BYTES, content_type="image/png")
    response = client_for(keyworker).post(url("patient-photo-upload", patient), {"photo": big})

    assert response.context["form"].errors["photo"] == ["Photo is too large (5.0 MB); the most is 5 MB."]


def test_nurses_cannot_upload_photos_but_managers_can(client_for, nurse, manager, patient):
    assert client_for(nurse).post(url("patient-photo-upload", patient), {"photo": image_upload()}).status_code == 403
    assert client_for(manager).post(url("patient-photo-upload", patient), {"photo": image_upload()}).status_code == 302


# --- Access log and history -----------------------------------------------------------------------


def test_a_manager_sees_the_access_log(client_for, manager, nurse, patient):
    client_for(nurse).get(url("patient-detail", patient))
    response = client_for(manager).get(url("patient-access-log", patient))

    assert response.status_code == 200
    entries = list(response.context["page"].object_list)
    assert [(e.user, e.what) for e in entries] == [(manager, "access_log"), (nurse, "record")]


def test_only_managers_see_the_access_log(client_for, nurse, keyworker, patient):
    for wrong_role in (nurse, keyworker):
        assert client_for(wrong_role).get(url("patient-access-log", patient)).status_code == 403


def test_the_history_page_shows_who_changed_what(client_for, keyworker, nurse, patient):
    services.patient_update(patient=patient, updated_by=keyworker, phone="07700 900123")

    response = client_for(nurse).get(url("patient-history", patient))

    page = response.content.decode()
    assert "07700 900123" in page and keyworker.get_full_name() in page
    assert AccessLogEntry.objects.get().what == "history"


def test_outcomes_due_list(client_for, keyworker, patient):
    with time_machine.travel("2026-04-10 10:00:00+00:00"):
        response = client_for(keyworker).get(url("outcomes-due"))

    assert [p.pk for p in response.context["patients"]] == [patient.pk]
    assert "Overdue" in response.content.decode()


def test_nav_links(client_for, keyworker, nurse):
    page = client_for(keyworker).get("/").content.decode()
    assert url("patient-list") in page and url("outcomes-due") in page
    page = client_for(nurse).get("/").content.decode()
    assert url("patient-list") in page and url("outcomes-due") not in page


def test_a_clinical_alert_set_on_the_edit_form_shows_on_the_record(client_for, keyworker, patient):
    data = registration(given_name="Alex", family_name="Morgan", date_of_birth="1980-05-17", nhs_number=VALID_NHS)
    data.update(clinical_alert="Epilepsy: seizure risk", keyworker=keyworker.pk)
    client = client_for(keyworker)
    assert client.post(url("patient-edit", patient), data).status_code == 302

    record = client.get(url("patient-detail", patient)).content.decode()
    assert "Allergies and clinical alerts" in record and "Epilepsy: seizure risk" in record
