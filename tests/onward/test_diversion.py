"""Diversion attendance confirmations (issue 16): what a police or probation partner reads, and every other
path by which it might read more, or read after it should have stopped."""

import base64
import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from deliveries.models import MessageStatus, OutboxMessage
from dosing.attendance import attendance_between
from dosing.models import AbsenceReason, PlannedAbsence
from onward.diversion import services
from onward.diversion.api import CONTRACT_FIELDS, WEEK_FIELDS
from onward.models import DiversionContract
from patients.models import AccessLogEntry, AccessPart
from patients.services import patient_discharge
from tests.factories import PartnerClientFactory, PartnerFactory, PatientFactory, StaffFactory
from tests.factories.dosing import PrescriptionFactory, SlotFactory
from tests.factories.referrals import consent_to_share, withdraw_consent

WEEK = dt.date(2026, 11, 16)  # Monday of the week of NOW (Saturday 21 Nov 2026)
API = "/api/v1/partner/diversion/contracts/"
# Every key a diversion partner may ever see (the documented fields); anything else fails the walk.
ALLOWED = CONTRACT_FIELDS | WEEK_FIELDS | {"results"}
NEVER = {"dose", "dose_mg", "drug", "prescription", "hold", "reason", "status_reason", "adverse", "notes", "name"}


@pytest.fixture
def police(clinic):
    return PartnerFactory(name="Cleveland Police Checkpoint", kind="police", clinics=[clinic])


@pytest.fixture
def probation(clinic):
    return PartnerFactory(name="Probation North East", kind="probation", clinics=[clinic])


@pytest.fixture
def offender(clinic, keyworker, police):
    patient = PatientFactory(clinic=clinic, given_name="Lee", family_name="Harland", keyworker=keyworker)
    consent_to_share(patient, police, recorded_by=keyworker, at=dt.datetime(2026, 1, 10, tzinfo=dt.UTC))
    return patient


def record(patient, partner, keyworker, **fields):
    values = {
        "partner_reference": "CP-2026-0412",
        "starts_on": dt.date(2026, 11, 2),
        "ends_on": dt.date(2027, 2, 28),
        "condition": "sessions_per_week",
        "condition_count": 8,
        **fields,
    }
    return services.diversion_contract_record(patient=patient, partner=partner, created_by=keyworker, **values)


@pytest.fixture
def contract(offender, police, keyworker):
    return record(offender, police, keyworker)


def attend(patient, prescriber, days, *, status="given", sessions=("morning", "afternoon")):
    prescription = patient.prescriptions.first() or PrescriptionFactory(patient=patient, prescriber=prescriber)
    for day in days:
        for session in sessions:
            SlotFactory(prescription=prescription, date=day, session=session, status=status)
    return prescription


def token_for(client, partner, *, clinic=None, scopes=("diversion:read",)):
    api_client = PartnerClientFactory(partner=partner, clinic=clinic, scopes=list(scopes))
    basic = base64.b64encode(f"{api_client.client_id}:{api_client.secret}".encode()).decode()
    token = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    return {"HTTP_AUTHORIZATION": f"Bearer {token.json()['access_token']}"}


def keys_of(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | set().union(*(keys_of(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_of(v) for v in value)) if value else set()
    return set()


# --- What the partner reads -------------------------------------------------------------------


def test_the_partner_reads_the_week_against_the_condition_and_nothing_clinical(client, contract, police, prescriber):
    attend(contract.patient, prescriber, [WEEK + dt.timedelta(days=n) for n in range(5)])  # 10 sessions
    auth = token_for(client, police)

    answers = [
        client.get(API, **auth),
        client.get(f"{API}{contract.reference}/", **auth),
        client.get(f"{API}{contract.reference}/weeks/{WEEK}/", **auth),
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    week = answers[2].json()
    assert (week["attended"], week["sessions_attended"], week["sessions_expected"]) == (True, 10, 10)
    assert (week["last_attended_on"], week["in_treatment"], week["week_complete"]) == ("2026-11-20", True, False)
    for answer in answers:  # the walk: every key of every answer is documented, and none is clinical
        assert keys_of(answer.json()) <= ALLOWED, keys_of(answer.json()) - ALLOWED
        assert not keys_of(answer.json()) & NEVER


def test_the_condition_is_not_met_below_n_sessions(contract, prescriber):
    attend(contract.patient, prescriber, [WEEK, WEEK + dt.timedelta(days=1)], sessions=("morning",))
    attend(contract.patient, prescriber, [WEEK + dt.timedelta(days=2)], status="missed", sessions=("morning",))

    summary = services.week_summary(contract, WEEK)

    assert (summary.attended, summary.sessions_attended, summary.sessions_expected) == (False, 2, 3)


def test_a_partly_given_dose_counts_and_a_withheld_one_does_not(contract, prescriber):
    attend(contract.patient, prescriber, [WEEK], status="partial", sessions=("morning",))
    attend(contract.patient, prescriber, [WEEK], status="withheld", sessions=("afternoon",))

    counted = attendance_between(contract.patient, WEEK, WEEK + dt.timedelta(days=6))

    assert (counted.sessions_attended, counted.sessions_expected, counted.days_attended) == (1, 2, 1)


def test_a_planned_absence_counts_as_engaged(contract, prescriber, keyworker):
    attend(contract.patient, prescriber, [WEEK + dt.timedelta(days=n) for n in range(2)])
    PlannedAbsence.objects.create(
        patient=contract.patient, starts_on=WEEK + dt.timedelta(days=2), ends_on=WEEK + dt.timedelta(days=4),
        reason=AbsenceReason.COURT, recorded_by=keyworker, recorded_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    attend(contract.patient, prescriber, [WEEK + dt.timedelta(days=2)], status="cancelled")

    summary = services.week_summary(contract, WEEK)

    # 4 sessions given + 3 absent days x 2 sessions; the absence's reason is never part of it
    assert (summary.attended, summary.sessions_attended, summary.sessions_expected) == (True, 10, 10)
    assert summary.days_attended == 5
    assert summary.last_attended_on == WEEK + dt.timedelta(days=1)


def test_the_days_condition_counts_days_with_a_session(offender, police, keyworker, prescriber):
    contract = record(offender, police, keyworker, condition="days_per_week", condition_count=5)
    attend(offender, prescriber, [WEEK + dt.timedelta(days=n) for n in range(4)], sessions=("morning",))
    assert services.week_summary(contract, WEEK).attended is False
    attend(offender, prescriber, [WEEK + dt.timedelta(days=4)], sessions=("afternoon",))
    assert services.week_summary(contract, WEEK).attended is True


@pytest.mark.parametrize(
    "sunday, at",
    [
        # Last Sunday of March: at 23:30 UTC it is already Monday 00:30 in Middlesbrough (BST).
        (dt.date(2026, 3, 29), dt.datetime(2026, 3, 29, 23, 30, tzinfo=dt.UTC)),
        # Last Sunday of October: 23:30 UTC is still Sunday 23:30 (GMT); the week is not over.
        (dt.date(2026, 10, 25), dt.datetime(2026, 10, 25, 23, 30, tzinfo=dt.UTC)),
    ],
)
def test_weeks_are_clinic_local_across_the_clock_changes(offender, police, keyworker, prescriber, sunday, at):
    monday = sunday - dt.timedelta(days=6)
    with time_machine.travel(monday, tick=False):
        contract = record(offender, police, keyworker, starts_on=monday, ends_on=monday + dt.timedelta(days=60))
    attend(offender, prescriber, [monday + dt.timedelta(days=n) for n in range(7)])  # both clock-change Sundays too

    with time_machine.travel(at, tick=False):
        summary = services.week_summary(contract, monday, now=at)
        written = services.diversion_weekly_summaries(now=at)

    assert (summary.sessions_attended, summary.sessions_expected, summary.last_attended_on) == (14, 14, sunday)
    spring = sunday.month == 3
    assert summary.week_complete is spring  # Monday already in March, still Sunday in October
    weekly = OutboxMessage.objects.filter(kind="diversion.weekly_summary")
    assert [m.payload["week_start"] for m in weekly] == ([monday.isoformat()] if spring else [])
    assert written == (1 if spring else 0)


# --- Every read lands in the access log --------------------------------------------------------


def test_each_partner_read_is_in_the_patients_access_log(client, contract, police):
    auth = token_for(client, police)
    client.get(API, **auth)
    client.get(f"{API}{contract.reference}/", **auth)
    client.get(f"{API}{contract.reference}/weeks/{WEEK}/", **auth)

    log = AccessLogEntry.objects.filter(patient=contract.patient)
    assert [(entry.partner_id, entry.user_id, entry.what) for entry in log] == [
        (police.pk, None, AccessPart.DIVERSION)
    ] * 3
    assert log.first().who == "Cleveland Police Checkpoint (partner)"


# --- The three endings: 404 at once, deliveries cancelled ----------------------------------------


def _queued(contract):
    services.diversion_weekly_summaries(now=dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC))
    return OutboxMessage.objects.filter(cancel_key=contract.cancel_key)


@pytest.mark.parametrize("ending", ["consent withdrawn", "contract ended", "episode ended"])
def test_each_ending_makes_the_next_read_404_and_cancels_waiting_deliveries(
    client, contract, police, keyworker, prescriber, ending
):
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC), tick=False):
        auth = token_for(client, police)
        queued = list(_queued(contract))
        assert queued and all(message.status == MessageStatus.PENDING for message in queued)
        assert client.get(f"{API}{contract.reference}/weeks/{WEEK}/", **auth).status_code == 200
        if ending == "consent withdrawn":
            withdraw_consent(contract.patient, police, recorded_by=keyworker)
        elif ending == "contract ended":
            services.diversion_contract_end(contract=contract, by=keyworker, reason="Completed the scheme.")
        else:
            patient_discharge(patient=contract.patient, reason="dropped_out", discharged_by=prescriber)

        reads = [
            client.get(API, **auth).json()["results"],
            client.get(f"{API}{contract.reference}/", **auth).status_code,
            client.get(f"{API}{contract.reference}/weeks/{WEEK}/", **auth).status_code,
        ]
        later = services.diversion_weekly_summaries(now=dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC))

    assert reads == [[], 404, 404]
    assert later == 0
    for message in queued:
        message.refresh_from_db()
        assert message.status == MessageStatus.CANCELLED
    live = OutboxMessage.objects.filter(cancel_key=contract.cancel_key).exclude(status=MessageStatus.CANCELLED)
    # Only the end of treatment tells the partner once that the person is no longer in treatment.
    expected = [("diversion.disengaged", "treatment_ended")] if ending == "episode ended" else []
    assert [(m.kind, m.payload["reason"]) for m in live] == expected
    for message in OutboxMessage.objects.filter(cancel_key=contract.cancel_key):  # what the webhooks carry
        assert set(message.payload) <= WEEK_FIELDS | {"reason"}, set(message.payload) - WEEK_FIELDS


# --- Attack tests: every other path to a partner seeing attendance ----------------------------------


def test_another_partner_with_the_same_patient_cannot_read_the_contract(client, contract, probation, keyworker):
    consent_to_share(contract.patient, probation, recorded_by=keyworker)
    record(contract.patient, probation, keyworker, partner_reference="PNE-1")
    auth = token_for(client, probation)

    assert client.get(f"{API}{contract.reference}/", **auth).status_code == 404
    assert client.get(f"{API}{contract.reference}/weeks/{WEEK}/", **auth).status_code == 404
    assert [c["partner_reference"] for c in client.get(API, **auth).json()["results"]] == ["PNE-1"]


def test_a_client_issued_for_another_clinic_of_the_same_organisation_cannot_read_it(
    client, contract, police, other_clinic
):
    police.clinics.add(other_clinic)
    auth = token_for(client, police, clinic=other_clinic)

    assert client.get(API, **auth).json()["results"] == []
    assert client.get(f"{API}{contract.reference}/weeks/{WEEK}/", **auth).status_code == 404


def test_another_clinics_police_partner_cannot_read_it(client, contract, other_clinic):
    elsewhere = PartnerFactory(name="Durham Checkpoint", kind="police", clinics=[other_clinic])
    auth = token_for(client, elsewhere)

    assert client.get(f"{API}{contract.reference}/", **auth).status_code == 404


def test_consent_for_a_different_partner_does_not_allow_a_contract_nor_a_read(
    client, offender, police, probation, keyworker
):
    with pytest.raises(ValidationError) as refused:
        record(offender, probation, keyworker)
    assert "no data-sharing consent in force with Probation North East" in str(refused.value)
    assert client.get(API, **token_for(client, probation)).json()["results"] == []


def test_a_partner_without_the_scope_or_of_another_kind_is_refused(client, contract, police, clinic):
    reader = token_for(client, police, scopes=("referrals:read",))
    assert client.get(API, **reader).status_code == 403
    housing = PartnerFactory(name="Thirteen Housing", kind="housing", clinics=[clinic])
    with pytest.raises(ValidationError, match="Only police and probation partners may read diversion"):
        PartnerClientFactory(partner=housing, scopes=["diversion:read"])


def test_the_weekly_job_after_the_ending_sends_nothing(contract, keyworker):
    services.diversion_contract_end(contract=contract, by=keyworker, reason="Breached: arrested.")
    assert services.diversion_weekly_summaries(now=dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)) == 0
    assert not OutboxMessage.objects.filter(kind__startswith="diversion.").exists()


def test_a_message_already_claimed_when_consent_is_withdrawn_is_not_sent(contract, police, keyworker, mailoutbox):
    from deliveries.services import deliver, dispatch_due

    with time_machine.travel(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC), tick=False):
        services.diversion_weekly_summaries()
        dispatch_due()  # claimed for a worker (status sending): cancel_messages cannot touch it now
        message = OutboxMessage.objects.get(kind="diversion.weekly_summary")
        assert message.status == MessageStatus.SENDING
        withdraw_consent(contract.patient, police, recorded_by=keyworker)
        deliver(message_id=message.pk, claim=message.claimed_by if message.claimed_by else "")

    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED
    assert "consent" in message.cancel_reason
    assert mailoutbox == []


# --- Bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, field, words",
    [
        ({"ends_on": dt.date(2026, 10, 1)}, "ends_on", "cannot end before it starts"),
        ({"condition_count": 8, "condition": "days_per_week"}, "condition_count", "1 to 7"),
        ({"condition_count": 0}, "condition_count", "1 to 21"),
        ({"partner_reference": "  "}, "partner_reference", "enter the scheme's reference"),
        ({"condition": "sometimes"}, "condition", "sessions a week or days a week"),
    ],
)
def test_bad_contracts_are_refused_naming_the_field(offender, police, keyworker, fields, field, words):
    with pytest.raises(ValidationError) as refused:
        record(offender, police, keyworker, **fields)
    assert words in " ".join(refused.value.message_dict[field])
    assert not DiversionContract.objects.exists()


def test_a_partner_of_the_wrong_kind_and_a_discharged_patient_are_refused(offender, keyworker, prescriber, clinic):
    housing = PartnerFactory(name="Thirteen Housing", kind="housing", clinics=[clinic])
    consent_to_share(offender, housing, recorded_by=keyworker)
    with pytest.raises(ValidationError, match="not a police or probation partner"):
        record(offender, housing, keyworker)
    patient_discharge(patient=offender, reason="moved_away", discharged_by=prescriber)
    with pytest.raises(ValidationError, match="discharged"):
        record(offender, PartnerFactory(kind="police", clinics=[clinic]), keyworker)


def test_a_malformed_or_wrong_week_is_a_400_problem_naming_week_start(client, contract, police):
    auth = token_for(client, police)
    for week in ["2026-11-17", "soon", "2026-13-45", "2027-06-07", "2026-11-30"]:
        response = client.get(f"{API}{contract.reference}/weeks/{week}/", **auth)
        assert response.status_code == 400, week
        assert "week_start" in response.json()["errors"]


def test_a_nurse_may_not_record_a_contract(offender, police, nurse):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        record(offender, police, nurse)


# --- Pages -------------------------------------------------------------------------------------


def test_the_keyworker_records_and_ends_a_contract_on_the_pages(client_for, offender, police, keyworker):
    client = client_for(keyworker)
    page = "/referrals/onward/diversion/"
    bad = client.post(f"{page}new/", {"patient": offender.pk, "partner": police.pk, "partner_reference": "CP-1",
                                       "starts_on": "2026-11-20", "ends_on": "2026-11-01",
                                       "condition": "sessions_per_week", "condition_count": "8"})  # fmt: skip
    assert bad.status_code == 400
    assert "cannot end before it starts" in bad.content.decode()
    made = client.post(f"{page}new/", {"patient": offender.pk, "partner": police.pk, "partner_reference": "CP-1",
                                        "starts_on": "2026-11-20", "ends_on": "2027-01-31",
                                        "condition": "sessions_per_week", "condition_count": "8"})  # fmt: skip
    contract = DiversionContract.objects.get()
    assert made.status_code == 302
    listed = client.get(page, {"patient": offender.pk}).content.decode()
    assert contract.reference in listed and "End the contract" in listed

    ended = client.post(f"{page}{contract.pk}/end/", {f"c{contract.pk}-reason": "Completed."})

    contract.refresh_from_db()
    assert ended.status_code == 302 and contract.is_ended


def test_a_keyworker_of_another_clinic_cannot_end_it(client_for, contract, other_clinic):
    outsider = StaffFactory(username="oli.kw", roles=["keyworker"], clinics=[other_clinic])
    response = client_for(outsider).post(f"/referrals/onward/diversion/{contract.pk}/end/", {"reason": "x"})
    contract.refresh_from_db()
    assert response.status_code == 404 and not contract.is_ended
