"""The patient services: registration and duplicates, consent, discharge and re-admission, TOP interviews."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from patients import selectors, services
from patients.models import (
    ConsentDecision,
    ConsentEntry,
    ConsentKind,
    DischargeReason,
    Episode,
    OutcomeInterview,
    Patient,
    PatientStatus,
)

from .conftest import INVALID_NHS, TOP_ANSWERS, VALID_NHS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _on_2_march_2026():
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        yield


def register(clinic, by, **details):
    fields = {
        "given_name": "Jo",
        "family_name": "Bloggs",
        "date_of_birth": datetime.date(1985, 4, 1),
        "nhs_number": "",
        **details,
    }
    return services.patient_register(clinic=clinic, started_on=datetime.date(2026, 3, 2), registered_by=by, **fields)


def test_registration_creates_the_patient_and_an_open_episode(clinic, keyworker):
    patient = register(clinic, keyworker, nhs_number="943 476 5919", keyworker=keyworker)

    assert patient.nhs_number == VALID_NHS
    assert patient.status == PatientStatus.INDUCTION
    assert [e.ended_on for e in patient.episodes.all()] == [None]
    assert patient.history.get().history_user == keyworker


def test_registration_with_an_invalid_nhs_number_saves_nothing(clinic, keyworker):
    with pytest.raises(ValidationError) as error:
        register(clinic, keyworker, nhs_number=INVALID_NHS)

    assert "NHS number is not valid" in error.value.message_dict["nhs_number"][0]
    assert not Patient.objects.exists() and not Episode.objects.exists()


def test_registration_names_every_bad_field_at_once(clinic, keyworker):
    with pytest.raises(ValidationError) as error:
        register(clinic, keyworker, nhs_number="123", date_of_birth=datetime.date(2027, 1, 1), given_name="")

    assert set(error.value.message_dict) == {"nhs_number", "date_of_birth", "given_name"}


def test_a_second_record_for_the_same_nhs_number_is_refused_even_when_confirmed(clinic, keyworker, patient):
    with pytest.raises(ValidationError) as error:
        register(clinic, keyworker, nhs_number=VALID_NHS, allow_duplicates=True)

    assert error.value.message_dict == {
        "nhs_number": ["NHS number: a patient with this NHS number is already registered."]
    }


def test_same_name_and_date_of_birth_needs_confirmation(clinic, keyworker, patient):
    details = {"given_name": "alex", "family_name": "MORGAN", "date_of_birth": patient.date_of_birth}
    with pytest.raises(ValidationError) as error:
        register(clinic, keyworker, allow_duplicates=False, **details)
    assert list(error.value.message_dict) == ["confirm_duplicates"]
    assert Patient.objects.count() == 1

    register(clinic, keyworker, allow_duplicates=True, **details)
    assert Patient.objects.count() == 2


def test_a_keyworker_of_another_clinic_cannot_be_assigned(clinic, keyworker, other_keyworker, nurse):
    for wrong in (other_keyworker, nurse):
        with pytest.raises(ValidationError) as error:
            register(clinic, keyworker, keyworker=wrong)
        assert error.value.message_dict == {"keyworker": ["Keyworker must be a keyworker at Middlesbrough HAT Clinic."]}


def test_duplicates_show_details_only_for_the_users_clinics(clinic, other_clinic, keyworker, nurse, patient):
    twin = Patient.objects.create(
        clinic=other_clinic, given_name="Alex", family_name="Morgan", date_of_birth=patient.date_of_birth
    )
    person = {"nhs_number": VALID_NHS, "given_name": "Alex", "family_name": "Morgan"}
    report = selectors.duplicates_for(keyworker, **person, date_of_birth=patient.date_of_birth)

    assert report.visible == [patient] and report.visible[0].same_nhs_number
    assert report.elsewhere == 1
    assert f"patient {twin.pk}" not in report.summary() and "another clinic" in report.summary()
    assert report.same_nhs_number
    # Issue 11: a match at another clinic is told only to staff who handle referrals, not to a nurse.
    assert selectors.duplicates_for(nurse, **person, date_of_birth=patient.date_of_birth).elsewhere == 0


def test_edit_keeps_old_and_new_values_in_the_history(patient, keyworker):
    with time_machine.travel("2026-03-02 11:00:00+00:00"):
        services.patient_update(patient=patient, updated_by=keyworker, preferred_name="Lex", family_name="Moran")

    changes = selectors.change_history(patient)
    assert changes[0].who == keyworker
    assert (changes[0].what, changes[0].action) == ("Details", "changed")
    assert changes[0].changes == [("family name", "Morgan", "Moran"), ("preferred name", "", "Lex")]


def test_edit_cannot_change_clinic_or_status(patient, keyworker):
    with pytest.raises(ValidationError) as error:
        services.patient_update(patient=patient, updated_by=keyworker, status=PatientStatus.HELD)
    assert error.value.message_dict == {"status": ["This field cannot be changed here."]}


# --- Consent ---------------------------------------------------------------------------


def test_withdrawal_is_a_new_entry_and_takes_effect_at_once(patient, keyworker, partner):
    services.consent_record(
        patient=patient,
        kind=ConsentKind.DATA_SHARING,
        partner=partner,
        decision=ConsentDecision.GIVEN,
        recorded_by=keyworker,
    )
    assert selectors.has_data_sharing_consent(patient, partner)
    assert patient in selectors.patients_sharing_with(partner)

    with time_machine.travel("2026-03-02 10:05:00+00:00", tick=False):
        services.consent_record(
            patient=patient,
            kind=ConsentKind.DATA_SHARING,
            partner=partner,
            decision=ConsentDecision.WITHDRAWN,
            recorded_by=keyworker,
        )
        assert not selectors.has_data_sharing_consent(patient, partner)
        assert patient not in selectors.patients_sharing_with(partner)

    history = list(selectors.consent_history(patient))
    assert [e.decision for e in history] == [ConsentDecision.WITHDRAWN, ConsentDecision.GIVEN]


def test_withdrawing_what_was_never_given_is_refused(patient, keyworker, partner):
    with pytest.raises(ValidationError) as error:
        services.consent_record(
            patient=patient,
            kind=ConsentKind.DATA_SHARING,
            partner=partner,
            decision=ConsentDecision.WITHDRAWN,
            recorded_by=keyworker,
        )
    assert error.value.message_dict == {
        "decision": ["Decision: there is no data-sharing consent with Tees Housing in force to withdraw."]
    }


def test_data_sharing_only_with_a_partner_of_the_patients_clinic(patient, keyworker, other_partner):
    with pytest.raises(ValidationError) as error:
        services.consent_record(
            patient=patient,
            kind=ConsentKind.DATA_SHARING,
            partner=other_partner,
            decision=ConsentDecision.GIVEN,
            recorded_by=keyworker,
        )
    assert error.value.message_dict == {
        "partner": ["Partner: Darlington Works is not a partner of Middlesbrough HAT Clinic."]
    }
    assert not ConsentEntry.objects.exists()


def test_current_consents_list_treatment_and_each_partner(patient, keyworker, partner):
    services.consent_record(
        patient=patient, kind=ConsentKind.TREATMENT, decision=ConsentDecision.GIVEN, recorded_by=keyworker
    )
    states = selectors.current_consents(patient)
    assert [(s.label, s.is_given) for s in states] == [
        ("Treatment", True),
        ("Data sharing with Tees Housing", False),
    ]


# --- Discharge and re-admission ------------------------------------------------------------


def test_discharge_closes_the_open_episode(patient, keyworker):
    episode = services.patient_discharge(patient=patient, reason=DischargeReason.TO_ORAL, discharged_by=keyworker)

    patient.refresh_from_db()
    assert patient.status == PatientStatus.DISCHARGED
    assert (episode.ended_on, episode.discharge_reason, episode.discharged_by) == (
        datetime.date(2026, 3, 2),
        DischargeReason.TO_ORAL,
        keyworker,
    )


def test_discharging_a_discharged_patient_is_refused_and_changes_nothing(patient, keyworker):
    services.patient_discharge(patient=patient, reason=DischargeReason.DROPPED_OUT, discharged_by=keyworker)
    with pytest.raises(ValidationError) as error:
        services.patient_discharge(patient=patient, reason=DischargeReason.DIED, discharged_by=keyworker)

    assert error.value.messages == ["This patient was already discharged on 2 March 2026; nothing was changed."]
    assert list(patient.episodes.values_list("discharge_reason", flat=True)) == [DischargeReason.DROPPED_OUT]


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"reason": "bored"}, "reason", "Discharge reason: choose one from the list."),
        ({"reason": DischargeReason.OTHER}, "notes", "Notes: say why, when the discharge reason is 'Other'."),
        (
            {"reason": DischargeReason.CUSTODY, "ended_on": datetime.date(2026, 3, 3)},
            "ended_on",
            "Discharge date cannot be in the future.",
        ),
        (
            {"reason": DischargeReason.CUSTODY, "ended_on": datetime.date(2026, 1, 4)},
            "ended_on",
            "Discharge date cannot be before the episode started (5 January 2026).",
        ),
    ],
)
def test_discharge_refusals_name_the_field(patient, keyworker, kwargs, field, message):
    with pytest.raises(ValidationError) as error:
        services.patient_discharge(patient=patient, discharged_by=keyworker, **kwargs)
    assert error.value.message_dict == {field: [message]}
    assert patient.episodes.get().ended_on is None


def test_readmission_opens_a_new_episode_and_keeps_the_old(patient, keyworker):
    services.patient_discharge(
        patient=patient, reason=DischargeReason.CUSTODY, ended_on=datetime.date(2026, 2, 1), discharged_by=keyworker
    )
    new = services.patient_readmit(patient=patient, readmitted_by=keyworker)

    patient.refresh_from_db()
    assert patient.status == PatientStatus.INDUCTION
    episodes = list(patient.episodes.order_by("started_on"))
    assert [(e.started_on, e.ended_on) for e in episodes] == [
        (datetime.date(2026, 1, 5), datetime.date(2026, 2, 1)),
        (datetime.date(2026, 3, 2), None),
    ]
    assert episodes[1] == new


def test_readmitting_a_patient_in_treatment_is_refused(patient, keyworker):
    with pytest.raises(ValidationError) as error:
        services.patient_readmit(patient=patient, readmitted_by=keyworker)
    assert error.value.messages == [
        "This patient is already in treatment (their episode is open); nothing was changed."
    ]
    assert patient.episodes.count() == 1


def test_readmission_cannot_start_before_the_last_discharge(patient, keyworker):
    services.patient_discharge(
        patient=patient, reason=DischargeReason.CUSTODY, ended_on=datetime.date(2026, 2, 1), discharged_by=keyworker
    )
    with pytest.raises(ValidationError) as error:
        services.patient_readmit(patient=patient, readmitted_by=keyworker, started_on=datetime.date(2026, 1, 31))
    assert error.value.message_dict == {
        "started_on": ["Start date cannot be before the last discharge (1 February 2026)."]
    }


# --- Outcome interviews -------------------------------------------------------------------------


def test_an_outcome_interview_belongs_to_the_open_episode(patient, keyworker):
    interview = services.outcome_interview_record(patient=patient, recorded_by=keyworker, **TOP_ANSWERS)
    assert interview.episode == patient.episodes.get()
    assert interview.interviewed_on == datetime.date(2026, 3, 2)


def test_top_bounds_are_refused_with_field_named_messages(patient, keyworker):
    answers = {**TOP_ANSWERS, "heroin_days": 29, "quality_of_life": 21, "crack_days": -1}
    with pytest.raises(ValidationError) as error:
        services.outcome_interview_record(patient=patient, recorded_by=keyworker, **answers)
    assert error.value.message_dict == {
        "heroin_days": ["Days used street heroin is a number of days in the last 28 days: from 0 to 28."],
        "crack_days": ["Days used crack is a number of days in the last 28 days: from 0 to 28."],
        "quality_of_life": ["Quality of life is a rating from 0 to 20."],
    }
    assert not OutcomeInterview.objects.exists()


def test_no_outcome_interview_for_a_discharged_patient(patient, keyworker):
    services.patient_discharge(patient=patient, reason=DischargeReason.MOVED_AWAY, discharged_by=keyworker)
    with pytest.raises(ValidationError, match="re-admit them"):
        services.outcome_interview_record(patient=patient, recorded_by=keyworker, **TOP_ANSWERS)


def test_the_due_list_shows_start_interviews_and_overdue_ones_per_keyworker(clinic, keyworker, patient):
    from tests.factories import PatientFactory

    fresh = PatientFactory(clinic=clinic, keyworker=keyworker, episode__started_on=datetime.date(2026, 3, 1))
    done = PatientFactory(clinic=clinic, keyworker=keyworker, episode__started_on=datetime.date(2026, 2, 1))
    services.outcome_interview_record(
        patient=done, recorded_by=keyworker, interviewed_on=datetime.date(2026, 2, 2), **TOP_ANSWERS
    )
    someone_elses = PatientFactory(clinic=clinic, episode__started_on=datetime.date(2026, 3, 1))

    due = selectors.outcomes_due(keyworker, today=datetime.date(2026, 4, 10), keyworker=keyworker)

    # patient: started 5 Jan with no interview -> overdue since 6 April; fresh: start interview due
    assert [(p, p.top.is_overdue) for p in due] == [(patient, True), (fresh, False)]
    assert someone_elses in selectors.outcomes_due(keyworker, today=datetime.date(2026, 4, 10))
