"""Staff pages in plain words and UK formats (issue 14.8, 14.9).

- No select offers Django's "---------": a required choice says what to choose, an optional one what
  leaving it means.
- Change histories (patient record, prescriptions, clinic settings) read as sentences:
  "Dr Asha Shah changed the morning dose from 100 mg to 120 mg on 18/11/2026 at 09:00."
- Dates are typed as dd/mm/yyyy and times on the 24-hour clock in text inputs (never the
  browser's locale), read back the same way; the ISO form is accepted too; anything else is
  refused with a message naming the format; pages show dates as dd/mm/yyyy and times as 24-hour.
"""

import datetime
import html
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.template import Context, Template
from django.utils import timezone

from clinics.widgets import DateField, DateTimeField, TimeField
from dosing import services as dosing_services
from dosing.models import DosingSettings, PlannedAbsence, Session
from dosing.rules import SETTINGS_FIELDS
from tests.factories import PatientFactory, PrescriptionFactory, SlotFactory, TreatmentConsentFactory
from tests.factories.dosing import license_prescriber

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOW = datetime.datetime(2026, 11, 18, 9, 0, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def patient(clinic, keyworker):
    patient = PatientFactory(clinic=clinic, given_name="Sam", family_name="Taylor")
    TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
    return patient


@pytest.fixture
def prescription(patient, prescriber, clinic):
    license_prescriber(prescriber, clinic)
    return PrescriptionFactory(patient=patient, prescriber=prescriber)


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


# --- No "---------" -------------------------------------------------------------------------------------------------


RULE_CODE = re.compile(r"\bS(1[0-4]|[1-9])\b")  # staff read sentences; the API keeps `rule`


def test_no_staff_form_offers_an_empty_dashed_choice_or_a_rule_code(
    client_for, clinic, patient, prescription, nurse, prescriber, keyworker, manager
):
    slot = SlotFactory(prescription=prescription, date=NOW.date(), session=Session.MORNING)
    pages = {
        keyworker: [
            "/patients/new/",
            f"/patients/{patient.pk}/edit/",
            f"/patients/{patient.pk}/consents/new/",
            f"/patients/{patient.pk}/discharge/",
            "/referrals/new/",
            f"/dosing/patients/{patient.pk}/absences/",
        ],
        nurse: [f"/dosing/slots/{slot.pk}/check/", f"/dosing/slots/{slot.pk}/dose/"],
        prescriber: [
            f"/dosing/patients/{patient.pk}/prescriptions/new/",
            f"/dosing/prescriptions/{prescription.pk}/change/",
        ],
        manager: ["/dosing/licences/", "/dosing/settings/", "/alerts/", "/register/new/"],
    }
    for user, urls in pages.items():
        client = client_for(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            page = text(response)
            assert "<select" in page or "<input" in page, url
            assert "---------" not in page, f"{url} offers '---------'"
            assert_no_rule_code(url, page)
    reading = [(nurse, f"/dosing/slots/{slot.pk}/"), (prescriber, "/dosing/holds/"), (prescriber, "/dosing/alerts/")]
    for user, url in reading:
        assert_no_rule_code(url, text(client_for(user).get(url)))


def assert_no_rule_code(url, page):
    words = re.sub(r"<[^>]+>", " ", page)
    assert not RULE_CODE.search(words), f"{url} shows the rule code {RULE_CODE.search(words).group()!r}"


def test_required_choices_say_what_to_choose(client_for, keyworker):
    page = text(client_for(keyworker).get("/referrals/new/"))
    assert '<option value="" selected>Choose who referred them</option>' in page
    assert "Choose why it ended" in page
    assert "No keyworker yet" in text(client_for(keyworker).get("/patients/new/"))


# --- Change history as sentences ------------------------------------------------------------------------------------


def test_a_prescription_change_reads_as_a_sentence(client_for, patient, prescription, prescriber, nurse):
    later = NOW + datetime.timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        dosing_services.prescription_change(
            prescription=prescription, prescriber=prescriber, now=later, morning_dose_mg=Decimal("120"),
            is_titration=True,
        )  # fmt: skip
    page = text(client_for(nurse).get(f"/dosing/patients/{patient.pk}/prescriptions/"))
    name = prescriber.get_full_name()
    assert f"{name} changed the morning dose from 100 mg to 120 mg as a titration step on 18/11/2026 at 09:05." in page
    prescribed = f"{name} prescribed injectable diamorphine, intravenous: morning 100 mg, afternoon 100 mg, daily"
    assert prescribed in page
    assert "History (every version" not in page and "<th" not in page.split("History, newest first")[1]


def test_the_patient_history_reads_as_sentences_without_database_words(client_for, patient, keyworker):
    client = client_for(keyworker)
    details = {
        "given_name": "Sam", "family_name": "Taylor", "preferred_name": "",
        "date_of_birth": patient.date_of_birth.strftime("%d/%m/%Y"),
        "sex": patient.sex, "nhs_number": "", "phone": "07700 900123", "email": "", "address": "",
        "contact_route": patient.contact_route, "contact_notes": "", "gp_practice": "", "keyworker": "",
    }  # fmt: skip
    response = client.post(f"/patients/{patient.pk}/edit/", details)
    assert response.status_code == 302, html.unescape(response.content.decode())[:3000]
    page = text(client.get(f"/patients/{patient.pk}/history/"))
    name = keyworker.get_full_name()
    assert f"{name} set the phone to 07700 900123 on 18/11/2026 at 09:00." in page  # the date of birth kept
    record = text(client.get(f"/patients/{patient.pk}/"))
    assert "values set" not in record and not re.search(r"Episode \d+ created", record)


def test_a_settings_change_typed_in_24_hour_time_reads_as_a_sentence(client_for, clinic, manager):
    settings = DosingSettings.for_clinic(clinic)
    values = {name: getattr(settings, name) for name in SETTINGS_FIELDS}
    data = {name: value.strftime("%H:%M") if hasattr(value, "strftime") else value for name, value in values.items()}
    noon = NOW.replace(hour=12)  # between sessions: a change applies at once
    with time_machine.travel(noon, tick=False):
        client = client_for(manager)
        response = client.post("/dosing/settings/", {**data, "morning_start": "08:15", "afternoon_end": "18:30"})
        assert response.status_code == 302, html.unescape(response.content.decode())[:3000]
        page = text(client.get("/dosing/settings/"))
    settings = DosingSettings.objects.get(clinic=clinic)
    assert (settings.morning_start, settings.afternoon_end) == (datetime.time(8, 15), datetime.time(18, 30))
    assert re.search(
        rf"{manager.get_full_name()} changed the morning [^.]* from 08:00 to 08:15 and changed the afternoon [^.]* "
        r"from 18:00 to 18:30 on 18/11/2026 at 12:00\.",
        page,
    ), page.split("<h2>Changes</h2>")[1][:600]
    assert 'value="08:15"' in page


# --- Dates dd/mm/yyyy, times 24-hour --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("03/12/2026", datetime.date(2026, 12, 3)),
        ("3/12/2026", datetime.date(2026, 12, 3)),
        ("03-12-2026", datetime.date(2026, 12, 3)),
        ("2026-12-03", datetime.date(2026, 12, 3)),  # ISO, as the API and older links send it
    ],
)
def test_a_date_is_read_as_day_month_year(typed, read):
    assert DateField().clean(typed) == read


@pytest.mark.parametrize("typed", ["12/31/2026", "31/12/26", "2026/12/03", "3 Dec", "yesterday", "31/02/2026"])
def test_a_date_in_another_format_is_refused_naming_the_format(typed):
    with pytest.raises(Exception, match="dd/mm/yyyy"):
        DateField().clean(typed)


def test_times_are_24_hour_and_a_12_hour_time_is_refused():
    assert TimeField().clean("14:05") == datetime.time(14, 5)
    assert TimeField().clean("08:30") == datetime.time(8, 30)
    for typed in ("2:05 PM", "2pm", "25:00", "14h05"):
        with pytest.raises(Exception, match="24-hour"):
            TimeField().clean(typed)


def test_a_date_and_time_is_read_in_the_clinic_zone():
    with timezone.override(LONDON):
        assert DateTimeField().clean("03/12/2026 14:05") == datetime.datetime(2026, 12, 3, 14, 5, tzinfo=LONDON)
        assert DateTimeField().clean("2026-12-03T14:05") == datetime.datetime(2026, 12, 3, 14, 5, tzinfo=LONDON)
        with pytest.raises(Exception, match="dd/mm/yyyy hh:mm"):
            DateTimeField().clean("12/03/2026 2:05 PM")


def test_date_and_time_inputs_are_text_with_the_format_beside_them(client_for, patient, keyworker):
    page = text(client_for(keyworker).get(f"/dosing/patients/{patient.pk}/absences/"))
    assert 'type="date"' not in page and 'type="time"' not in page and "datetime-local" not in page
    starts = re.search(r'<input type="text" name="starts_on"[^>]*>', page).group(0)
    assert 'aria-describedby="id_starts_on_format"' in starts or "id_starts_on_format" in starts
    assert '<span class="format-hint" id="id_starts_on_format">dd/mm/yyyy</span>' in page


def test_an_absence_typed_as_dd_mm_yyyy_is_saved_on_those_days(client_for, patient, keyworker):
    response = client_for(keyworker).post(
        f"/dosing/patients/{patient.pk}/absences/",
        {"reason": "hospital", "starts_on": "19/11/2026", "ends_on": "02/12/2026"},
    )
    assert response.status_code == 302, html.unescape(response.content.decode())[:2000]
    absence = PlannedAbsence.objects.get(patient=patient)
    assert (absence.starts_on, absence.ends_on) == (datetime.date(2026, 11, 19), datetime.date(2026, 12, 2))


def test_a_date_typed_month_first_is_refused_on_the_page_and_nothing_saved(client_for, patient, keyworker):
    response = client_for(keyworker).post(
        f"/dosing/patients/{patient.pk}/absences/",
        {"reason": "hospital", "starts_on": "11/19/2026", "ends_on": "12/02/2026"},
    )
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "Enter the date as dd/mm/yyyy, for example 03/12/2026." in page
    assert 'value="11/19/2026"' in page  # what was typed stays, to be put right
    assert not PlannedAbsence.objects.exists()


def test_pages_show_dates_as_dd_mm_yyyy_and_times_24_hour():
    moment = datetime.datetime(2026, 12, 3, 14, 5, tzinfo=LONDON)
    with timezone.override(LONDON):
        shown = Template("{{ at }}|{{ at|date }}|{{ at|time }}|{{ day }}|{{ day|date:'SHORT_DATE_FORMAT' }}").render(
            Context({"at": moment, "day": moment.date()})
        )
    assert shown == "03/12/2026 14:05|03/12/2026|14:05|03/12/2026|03/12/2026"
