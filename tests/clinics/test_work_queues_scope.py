"""The prescriber's and keyworker's work queues (issue 14, items 6 and 7): each count is what its page lists,
over all the user's clinics (with a Clinic column when there are several), and never another clinic's items.

Personas: Priya prescribes at Middlesbrough only; Pat prescribes at Middlesbrough and Darlington;
Kev is Middlesbrough's keyworker. Darlington's items are planted next to Middlesbrough's in every test.
"""

import datetime
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clinics.middleware import SESSION_KEY
from dosing.models import Alert, AlertKind, CheckOutcome, Hold, PrescriberLicence, Sedation
from dosing.services import record_pre_dose_check
from patients.models import ConsentDecision, PatientStatus
from tests.factories import (
    PatientFactory,
    PrescriptionFactory,
    SlotFactory,
    StaffFactory,
    TreatmentConsentFactory,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
MORNING = datetime.datetime(2026, 11, 18, 9, 0, tzinfo=LONDON)
TODAY = MORNING.date()

QUEUES = {  # home page words -> the page the count links to
    "holds to review": "/dosing/holds/",
    "reduced doses to review (past 7 days)": "/dosing/review/reductions/",
    "titration steps due": "/dosing/review/titrations/",
    "prescriber licences ending (30 days)": "/dosing/review/licences/",
}


@pytest.fixture(autouse=True)
def _at_nine():
    with time_machine.travel(MORNING, tick=False):
        yield


@pytest.fixture
def both_clinics_prescriber(clinic, other_clinic):
    return StaffFactory(
        username="pat.prescriber", first_name="Pat", roles=["prescriber"], clinics=[clinic, other_clinic]
    )


def _count(page: str, words: str) -> int:
    match = re.search(rf'work-queue__count">(\d+)</strong> {re.escape(words)}', page)
    assert match, f"no queue '{words}' on the page"
    return int(match.group(1))


def _rows(page: str) -> list[str]:
    """The rows of the page's first table body."""
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    return re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S) if body else []


def _page(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def plant(clinic, prescriber, keyworker, name):
    """In `clinic`: a held patient, a reduced dose this morning, a titration step of yesterday, a licence ending
    in 10 days, and a patient in treatment whose treatment consent was withdrawn. Names start with `name`."""
    held = PatientFactory(clinic=clinic, given_name=f"{name}Held", family_name="Adams")
    TreatmentConsentFactory(patient=held, recorded_by=keyworker)
    Hold.objects.create(
        patient=held, prescription=PrescriptionFactory(patient=held, prescriber=prescriber), since=MORNING,
        missed_days=3, missed_since=TODAY, reason="3 days missed",
    )  # fmt: skip
    reduced = PatientFactory(clinic=clinic, given_name=f"{name}Reduced", family_name="Brown")
    TreatmentConsentFactory(patient=reduced, recorded_by=keyworker)
    slot = SlotFactory(prescription=PrescriptionFactory(patient=reduced, prescriber=prescriber), date=TODAY)
    record_pre_dose_check(
        slot=slot, checked_by=prescriber, sedation=Sedation.SLIGHT, intoxication_signs=False, withdrawal_signs=False,
        breath_alcohol_ug=Decimal("0"), outcome=CheckOutcome.REDUCED, reduced_dose_mg=Decimal("40"),
        now=MORNING - datetime.timedelta(minutes=30),
    )  # fmt: skip
    titrating = PatientFactory(clinic=clinic, given_name=f"{name}Titrating", family_name="Clark")
    TreatmentConsentFactory(patient=titrating, recorded_by=keyworker)
    PrescriptionFactory(
        patient=titrating, prescriber=prescriber, is_titration=True, starts_on=TODAY - datetime.timedelta(days=1),
        signed_at=MORNING - datetime.timedelta(days=1),
    )  # fmt: skip
    colleague = StaffFactory(first_name=f"{name}Doc", roles=["prescriber"], clinics=[clinic])
    PrescriberLicence.objects.create(
        prescriber=colleague, clinic=clinic, number=f"HO-{name}", valid_from=datetime.date(2025, 1, 1),
        valid_to=TODAY + datetime.timedelta(days=10), recorded_by=prescriber, recorded_at=MORNING,
    )  # fmt: skip
    unconsented = PatientFactory(clinic=clinic, given_name=f"{name}Unconsented", family_name="Davis")
    TreatmentConsentFactory(patient=unconsented, recorded_by=keyworker)
    TreatmentConsentFactory(
        patient=unconsented, recorded_by=keyworker, decision=ConsentDecision.WITHDRAWN,
        effective_at=MORNING - datetime.timedelta(days=2),
    )  # fmt: skip


@pytest.fixture
def two_clinics(clinic, other_clinic, prescriber, keyworker):
    other_prescriber = StaffFactory(username="otto.prescriber", roles=["prescriber"], clinics=[other_clinic])
    other_keyworker = StaffFactory(username="kim.keyworker", roles=["keyworker"], clinics=[other_clinic])
    plant(clinic, prescriber, keyworker, "Mbro")
    plant(other_clinic, other_prescriber, other_keyworker, "Darl")


def test_a_prescriber_of_one_clinic_counts_and_sees_only_that_clinics_items(client, prescriber, two_clinics):
    home = _page(client, prescriber, "/")
    for words, url in QUEUES.items():
        page = _page(client, prescriber, url)
        assert _count(home, words) == len(_rows(page)) == 1, words
        assert "Mbro" in page and "Darl" not in page, url
        assert ">Clinic</th>" not in page  # one clinic: no Clinic column


def test_a_prescriber_of_two_clinics_counts_both_and_each_list_names_the_clinic(
    client, both_clinics_prescriber, two_clinics
):
    home = _page(client, both_clinics_prescriber, "/")
    for words, url in QUEUES.items():
        page = _page(client, both_clinics_prescriber, url)
        assert _count(home, words) == len(_rows(page)) == 2, words
        assert ">Clinic</th>" in page and "Darlington HAT Clinic" in page and "Middlesbrough HAT Clinic" in page


def test_a_keyworker_counts_and_lists_the_consents_to_renew_of_their_clinic_only(client, keyworker, two_clinics):
    page = _page(client, keyworker, "/patients/consents/to-renew/")

    assert _count(_page(client, keyworker, "/"), "treatment consents to renew") == len(_rows(page)) == 1
    assert "MbroUnconsented" in page and "Darl" not in page
    assert "Withdrawn on 16 Nov 2026" in page


def test_consents_to_renew_include_a_patient_never_asked_but_not_a_discharged_or_consenting_one(
    client, clinic, keyworker
):
    PatientFactory(clinic=clinic, given_name="Never")  # in treatment, no consent recorded
    consenting = PatientFactory(clinic=clinic, given_name="Consenting")
    TreatmentConsentFactory(patient=consenting, recorded_by=keyworker)
    discharged = PatientFactory(clinic=clinic, given_name="Gone", status=PatientStatus.DISCHARGED)
    discharged.episodes.update(ended_on=TODAY, discharge_reason="completed")
    future = PatientFactory(clinic=clinic, given_name="Later")  # given, but only from tomorrow
    TreatmentConsentFactory(patient=future, recorded_by=keyworker, effective_at=MORNING + datetime.timedelta(days=1))

    page = _page(client, keyworker, "/patients/consents/to-renew/")

    names = " ".join(_rows(page))
    assert "Never" in names and "Later" in names and "Never recorded" in names
    assert "Consenting" not in names and "Gone" not in names


def test_the_queue_pages_are_for_their_roles_only(client, nurse, keyworker, prescriber):
    for url in QUEUES.values():
        if url != "/dosing/holds/":
            assert _client_status(client, nurse, url) == 403
            assert _client_status(client, keyworker, url) == 403
    assert _client_status(client, nurse, "/patients/consents/to-renew/") == 403
    assert _client_status(client, prescriber, "/patients/consents/to-renew/") == 403


def _client_status(client, user, url) -> int:
    client.force_login(user)
    return client.get(url).status_code


# --- Hold review and alerts agree on scope -----------------------------------------------------------------------


def test_hold_review_lists_every_held_patient_whose_hold_alert_the_prescriber_got(
    client, clinic, other_clinic, both_clinics_prescriber, keyworker
):
    """Working in Middlesbrough, Pat is alerted of a hold at Darlington: the hold review page lists it too."""
    held = PatientFactory(clinic=other_clinic, given_name="Dana", family_name="Held")
    hold = Hold.objects.create(
        patient=held, prescription=PrescriptionFactory(patient=held, prescriber=both_clinics_prescriber),
        since=MORNING, missed_days=3, missed_since=TODAY, reason="3 days missed",
    )  # fmt: skip
    Alert.objects.create(
        recipient=both_clinics_prescriber, clinic=other_clinic, kind=AlertKind.HOLD, hold=hold,
        message="Dana Held is on hold", created_at=MORNING,
    )  # fmt: skip
    client.force_login(both_clinics_prescriber)
    session = client.session
    session[SESSION_KEY] = clinic.pk
    session.save()

    holds = _page(client, both_clinics_prescriber, "/dosing/holds/")
    alerts = _page(client, both_clinics_prescriber, "/dosing/alerts/")
    home = _page(client, both_clinics_prescriber, "/")

    assert "Dana Held" in holds and "Darlington HAT Clinic" in holds
    assert "Dana Held is on hold" in alerts
    assert _count(home, "holds to review") == 1
    assert re.search(r'header-badge__count">1<span class="visually-hidden"> unread', home)


def test_the_alert_badge_counts_only_the_alerts_the_alerts_page_shows(client, other_clinic, prescriber):
    """An unread alert of a clinic the prescriber no longer works in is neither listed nor counted."""
    Alert.objects.create(
        recipient=prescriber, clinic=other_clinic, kind=AlertKind.HOLD, message="Someone at Darlington is on hold",
        created_at=MORNING,
    )  # fmt: skip

    assert "Someone at Darlington" not in _page(client, prescriber, "/dosing/alerts/")
    assert "header-badge" not in _page(client, prescriber, "/")


def test_a_renewed_licence_leaves_the_list_and_a_new_prescription_version_ends_a_reduction_review(
    client, clinic, prescriber, keyworker, two_clinics
):
    from dosing.models import Prescription

    colleague_licence = PrescriberLicence.objects.get(number="HO-Mbro")
    PrescriberLicence.objects.create(
        prescriber=colleague_licence.prescriber, clinic=clinic, number="HO-Mbro-2",
        valid_from=colleague_licence.valid_to, valid_to=TODAY + datetime.timedelta(days=400), recorded_by=prescriber,
        recorded_at=MORNING,
    )  # fmt: skip
    reduced = Prescription.objects.get(patient__given_name="MbroReduced")
    Prescription.objects.filter(pk=reduced.pk).update(superseded_at=MORNING)

    home = _page(client, prescriber, "/")
    assert _count(home, "prescriber licences ending (30 days)") == 0
    assert _count(home, "reduced doses to review (past 7 days)") == 0
    assert _count(home, "titration steps due") == 1
