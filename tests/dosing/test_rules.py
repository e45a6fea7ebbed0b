"""Each safety rule S1-S12, attacked through the service layer and refused with its message."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from dosing import services
from dosing.models import (
    Administration,
    AdverseEventKind,
    Alert,
    AlertKind,
    CheckOutcome,
    DosingSettings,
    Drug,
    Hold,
    InjectionSite,
    Route,
    Sedation,
    Session,
    SignOutState,
    Slot,
    SlotStatus,
    Supply,
)
from dosing.rules import RuleViolation
from patients.models import ConsentDecision, ConsentKind
from patients.services import consent_record
from tests.factories import PrescriptionFactory, SlotFactory
from tests.factories.clinics import PASSWORD
from tests.outbox import run_dispatch

from .conftest import AFTERNOON, MORNING, TODAY, at, check, check_and_dose, dose

pytestmark = pytest.mark.django_db


def refused(rule: str, match: str, *, field: str | None = None):
    """Context manager: the block is refused by `rule`, with a message containing `match`."""

    class Refusal:
        def __enter__(self):
            self.raises = pytest.raises(RuleViolation)
            self.info = self.raises.__enter__()
            return self.info

        def __exit__(self, *exc):
            suppressed = self.raises.__exit__(*exc)
            error = self.info.value
            assert error.rule == rule, str(error)
            assert match in str(error), str(error)
            assert str(error).startswith(f"{rule} · ")
            if field:
                assert field in error.message_dict, error.message_dict
                assert match in error.message_dict[field][0]
            return suppressed

    return Refusal()


# --- S1 -------------------------------------------------------------------------------------------------


def test_s1_second_dose_in_the_same_slot_is_refused_naming_who_gave_it(slot, nurse, second_nurse):
    check_and_dose(slot, nurse, second_nurse)

    with refused("S1", "Already given at 09:02 by"):
        dose(slot, second_nurse, nurse, now=at(TODAY, 9, 5))
    assert Administration.objects.filter(slot=slot).count() == 1


def test_s1_a_stale_form_submitted_twice_is_refused_and_nothing_else_is_recorded(slot, nurse, second_nurse):
    check(slot, nurse)
    dose(slot, nurse, second_nurse, now=at(TODAY, 9, 2))

    with refused("S1", f"Already given at 09:02 by {nurse.get_full_name()}"):
        dose(slot, nurse, second_nurse, now=at(TODAY, 9, 2))
    slot.refresh_from_db()
    assert slot.status == SlotStatus.GIVEN


# --- S2 -------------------------------------------------------------------------------------------------


def test_s2_no_dose_in_a_session_the_clinic_does_not_run(prescription, nurse, second_nurse):
    prescription_evening = prescription  # the factory's prescription has no evening dose: use a raw slot
    evening = SlotFactory(prescription=prescription_evening, date=TODAY, session=Session.EVENING)
    Prescription = type(prescription)
    Prescription.objects.filter(pk=prescription.pk).update(evening_dose_mg=Decimal("50"))

    with refused("S2", "The clinic runs 2 sessions a day; there is no evening dose"):
        check_and_dose(evening, nurse, second_nurse, now=at(TODAY, 19, 30))


def test_s2_no_more_doses_a_day_than_sessions(slot, afternoon_slot, clinic, nurse, second_nurse):
    check_and_dose(slot, nurse, second_nurse)
    DosingSettings.objects.filter(clinic=clinic).update(sessions_per_day=1)

    # the afternoon session is no longer run: refused whichever way S2 is reached
    with refused("S2", "The clinic runs 1 session a day"):
        check_and_dose(afternoon_slot, nurse, second_nurse, now=AFTERNOON)


def test_s2_prescribing_a_dose_for_a_session_the_clinic_does_not_run_is_refused(patient, prescriber):
    with refused("S2", "there is no evening session", field="evening_dose_mg"):
        services.prescription_create(
            patient=patient,
            prescriber=prescriber,
            drug=Drug.DIAMORPHINE_INJECTABLE,
            route=Route.INTRAVENOUS,
            morning_dose_mg=Decimal("100"),
            evening_dose_mg=Decimal("100"),
            daily_max_mg=Decimal("300"),
            starts_on=TODAY,
            now=MORNING,
        )


# --- S3 -------------------------------------------------------------------------------------------------


def test_s3_an_injectable_dose_too_soon_after_the_last_is_refused_with_when_it_may_be_given(
    slot, afternoon_slot, clinic, nurse, second_nurse
):
    check(slot, nurse, now=at(TODAY, 10, 0))
    dose(slot, nurse, second_nurse, now=at(TODAY, 10, 25))
    DosingSettings.objects.filter(clinic=clinic).update(afternoon_start=datetime.time(12, 0))
    Slot.objects.filter(pk=afternoon_slot.pk).update(window_start=at(TODAY, 12, 0))
    afternoon_slot.refresh_from_db()
    check(afternoon_slot, nurse, now=at(TODAY, 12, 30))

    with refused("S3", "No dose: last injectable dose at 10:25; the minimum interval of 3 h ends at 13:25"):
        dose(afternoon_slot, nurse, second_nurse, now=at(TODAY, 12, 35))

    assert dose(afternoon_slot, nurse, second_nurse, now=at(TODAY, 13, 25)).dose_mg == Decimal("100")


def _afternoon_from_noon(clinic, afternoon_slot):
    DosingSettings.objects.filter(clinic=clinic).update(afternoon_start=datetime.time(12, 0))
    Slot.objects.filter(pk=afternoon_slot.pk).update(window_start=at(TODAY, 12, 0))
    afternoon_slot.refresh_from_db()


def correct(administration, nurse, witness, *, dose_mg, given_at, now):
    return services.correct_administration(
        administration=administration, author=nurse, reason="Wrong time or dose recorded", dose_mg=dose_mg,
        route=Route.INTRAVENOUS, injection_site=InjectionSite.LEFT_ARM, given_at=given_at, witness=witness,
        witness_password=PASSWORD, now=now,
    )  # fmt: skip


def test_s3_counts_from_the_corrected_time_of_the_last_dose(slot, afternoon_slot, clinic, nurse, second_nurse):
    check(slot, nurse, now=at(TODAY, 10, 0))
    given = dose(slot, nurse, second_nurse, now=at(TODAY, 10, 25))
    correct(given, nurse, second_nurse, dose_mg=Decimal("100"), given_at=at(TODAY, 9, 30), now=at(TODAY, 10, 40))
    _afternoon_from_noon(clinic, afternoon_slot)
    check(afternoon_slot, nurse, now=at(TODAY, 12, 0))

    with refused("S3", "No dose: last injectable dose at 09:30; the minimum interval of 3 h ends at 12:30"):
        dose(afternoon_slot, nurse, second_nurse, now=at(TODAY, 12, 29))
    assert dose(afternoon_slot, nurse, second_nurse, now=at(TODAY, 12, 30)).dose_mg == Decimal("100")


def test_s3_a_dose_corrected_to_no_dose_does_not_start_the_interval(slot, afternoon_slot, clinic, nurse, second_nurse):
    check(slot, nurse, now=at(TODAY, 10, 0))
    given = dose(slot, nurse, second_nurse, now=at(TODAY, 10, 25))
    correct(given, nurse, second_nurse, dose_mg=Decimal("0"), given_at=at(TODAY, 10, 25), now=at(TODAY, 10, 40))
    _afternoon_from_noon(clinic, afternoon_slot)
    check(afternoon_slot, nurse, now=at(TODAY, 12, 0))

    assert dose(afternoon_slot, nurse, second_nurse, now=at(TODAY, 12, 5)).dose_mg == Decimal("100")


# --- S4 -------------------------------------------------------------------------------------------------


def test_s4_a_dose_above_the_session_dose_is_refused_on_the_dose_field(slot, nurse, second_nurse):
    check(slot, nurse)

    with refused("S4", "120 mg is more than the prescribed 100 mg for the morning session", field="dose_mg"):
        dose(slot, nurse, second_nurse, dose_mg=Decimal("120"))
    assert not Administration.objects.exists()


def test_s4_a_dose_above_the_daily_maximum_is_refused(patient, prescriber, nurse, second_nurse):
    prescription = PrescriptionFactory(
        patient=patient,
        prescriber=prescriber,
        morning_dose_mg=Decimal("200"),
        afternoon_dose_mg=Decimal("200"),
        daily_max_mg=Decimal("300"),
    )
    morning = SlotFactory(prescription=prescription, date=TODAY, session=Session.MORNING)
    afternoon = SlotFactory(prescription=prescription, date=TODAY, session=Session.AFTERNOON)
    check_and_dose(morning, nurse, second_nurse, dose_mg=Decimal("200"))

    with refused("S4", "200 mg would bring today's total to 400 mg, above the daily maximum of 300 mg"):
        check_and_dose(afternoon, nurse, second_nurse, now=AFTERNOON, dose_mg=Decimal("200"))


def test_s4_the_clinic_ceiling_caps_a_prescription(patient, prescriber):
    with refused("S4", "above the clinic's ceiling of 500 mg for injectable hydromorphone", field="daily_max_mg"):
        services.prescription_create(
            patient=patient,
            prescriber=prescriber,
            drug=Drug.HYDROMORPHONE_INJECTABLE,
            route=Route.INTRAVENOUS,
            morning_dose_mg=Decimal("200"),
            afternoon_dose_mg=Decimal("200"),
            daily_max_mg=Decimal("600"),
            starts_on=TODAY,
            now=MORNING,
        )


def test_s4_session_doses_cannot_add_up_to_more_than_the_daily_maximum(patient, prescriber):
    with refused("S4", "The session doses add up to 500 mg, more than the daily maximum of 400 mg"):
        services.prescription_create(
            patient=patient,
            prescriber=prescriber,
            drug=Drug.DIAMORPHINE_INJECTABLE,
            route=Route.INTRAVENOUS,
            morning_dose_mg=Decimal("250"),
            afternoon_dose_mg=Decimal("250"),
            daily_max_mg=Decimal("400"),
            starts_on=TODAY,
            now=MORNING,
        )


# --- S5 -------------------------------------------------------------------------------------------------


def test_s5_no_dose_without_a_pre_dose_check(slot, nurse, second_nurse):
    with refused("S5", "No dose without a pre-dose check in this session"):
        dose(slot, nurse, second_nurse)


def test_s5_an_intoxicated_patient_is_withheld_not_dosed(slot, nurse):
    with refused("S5", "An intoxicated patient is withheld: breath alcohol 60 µg/100 ml is above the limit of 35"):
        check(slot, nurse, breath_alcohol_ug=Decimal("60"))
    with refused("S5", "An intoxicated patient is withheld: sedated", field="outcome"):
        check(slot, nurse, sedation=Sedation.FREQUENT)

    check(slot, nurse, breath_alcohol_ug=Decimal("60"), outcome=CheckOutcome.WITHHOLD, withhold_reason="Drunk")
    slot.refresh_from_db()
    assert slot.status == SlotStatus.WITHHELD


def test_s5_a_withheld_slot_cannot_then_be_dosed(slot, nurse, second_nurse):
    check(slot, nurse, intoxication_signs=True, outcome=CheckOutcome.WITHHOLD, withhold_reason="Slurred speech")

    with refused("S5", "This dose was withheld at 09:00: Slurred speech"):
        dose(slot, nurse, second_nurse, now=at(TODAY, 9, 10))


def test_s5_a_reduced_dose_needs_a_prescriber_and_caps_the_dose(slot, nurse, second_nurse, prescriber):
    with refused("S5", "needs the authorisation of a prescriber", field="authorised_by"):
        check(slot, nurse, outcome=CheckOutcome.REDUCED, reduced_dose_mg=Decimal("50"), authorised_by=second_nurse)

    check(  # the prescriber types their own PIN (here their password: they set no PIN) on the nurse's device
        slot, nurse, outcome=CheckOutcome.REDUCED, reduced_dose_mg=Decimal("50"), authorised_by=prescriber,
        authoriser_pin=PASSWORD,
    )  # fmt: skip
    with refused("S5", "80 mg is more than the reduced dose of 50 mg authorised by", field="dose_mg"):
        dose(slot, nurse, second_nurse, dose_mg=Decimal("80"))

    given = dose(slot, nurse, second_nurse, dose_mg=Decimal("50"))
    slot.refresh_from_db()
    assert (given.prescribed_dose_mg, slot.status) == (Decimal("50"), SlotStatus.GIVEN)


def test_partial_dose_marks_the_slot_partial(slot, nurse, second_nurse):
    check_and_dose(slot, nurse, second_nurse, dose_mg=Decimal("60"))
    slot.refresh_from_db()
    assert slot.status == SlotStatus.PARTIAL


# --- S6 -------------------------------------------------------------------------------------------------


def test_s6_sign_out_before_the_observation_ends_is_refused(slot, nurse, second_nurse):
    given = check_and_dose(slot, nurse, second_nurse)  # given at 09:02, observation 15 min

    with refused("S6", "Observation ends at 09:17; sign-out is possible in 7 min"):
        services.sign_out_after_observation(
            administration=given, signed_out_by=nurse, state=SignOutState.WELL, now=at(TODAY, 9, 10)
        )

    signed = services.sign_out_after_observation(
        administration=given, signed_out_by=nurse, state=SignOutState.WELL, now=at(TODAY, 9, 17)
    )
    again = services.sign_out_after_observation(
        administration=given, signed_out_by=second_nurse, state=SignOutState.WELL, now=at(TODAY, 9, 20)
    )
    assert again.pk == signed.pk


def test_s6_observation_time_follows_the_clinic_setting(slot, clinic, nurse, second_nurse):
    DosingSettings.objects.filter(clinic=clinic).update(observation_minutes=30)
    given = check_and_dose(slot, nurse, second_nurse)
    assert given.observation_ends_at == at(TODAY, 9, 32)


# --- S7 -------------------------------------------------------------------------------------------------


def miss_days(prescription, first_day, days):
    for offset in range(days):
        day = first_day + datetime.timedelta(days=offset)
        for session in (Session.MORNING, Session.AFTERNOON):
            SlotFactory(prescription=prescription, date=day, session=session)
    return services.close_missed_slots(now=at(first_day + datetime.timedelta(days=days - 1), 18, 1))


def test_s7_three_missed_days_hold_the_prescription_until_a_prescriber_reviews_it(
    prescription, slot, nurse, second_nurse, prescriber
):
    miss_days(prescription, datetime.date(2026, 11, 15), 3)

    hold = Hold.objects.get(patient=prescription.patient, cleared_at__isnull=True)
    assert hold.reason == "S7 · No dose: 3 consecutive days missed since 15 Nov; prescriber review required"
    assert Alert.objects.filter(kind=AlertKind.HOLD, recipient=prescriber).exists()
    with refused("S7", "No dose: 3 consecutive days missed since 15 Nov; prescriber review required"):
        check_and_dose(slot, nurse, second_nurse)

    with pytest.raises(PermissionDenied):
        services.clear_hold(
            hold=hold, prescriber=nurse, morning_dose_mg=Decimal("50"), afternoon_dose_mg=Decimal("50"), now=MORNING
        )
    services.clear_hold(
        hold=hold, prescriber=prescriber, morning_dose_mg=Decimal("50"), afternoon_dose_mg=Decimal("50"), now=MORNING
    )
    with refused("S4", "100 mg is more than the prescribed 50 mg for the morning session"):
        check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 9, 5))
    assert dose(slot, nurse, second_nurse, dose_mg=Decimal("50"), now=at(TODAY, 9, 8)).dose_mg == Decimal("50")


def test_s7_two_missed_days_do_not_hold(prescription):
    miss_days(prescription, datetime.date(2026, 11, 16), 2)
    assert not Hold.objects.exists()


def test_s7_one_missed_day_holds_during_titration(prescription, slot):
    type(prescription).objects.filter(pk=prescription.pk).update(is_titration=True)
    miss_days(prescription, datetime.date(2026, 11, 17), 1)
    assert Hold.objects.get(patient=prescription.patient).missed_days == 1


def test_s7_the_dose_is_refused_even_before_the_job_has_held_the_patient(prescription, slot, nurse, second_nurse):
    for offset in (1, 2, 3):
        for session in (Session.MORNING, Session.AFTERNOON):
            SlotFactory(
                prescription=prescription,
                date=TODAY - datetime.timedelta(days=offset),
                session=session,
                status=SlotStatus.REFUSED,
            )

    with refused("S7", "3 consecutive days missed since 15 Nov"):
        check(slot, nurse)


# --- S8 -------------------------------------------------------------------------------------------------


def test_s8_no_dose_without_treatment_consent(slot, nurse, second_nurse, keyworker):
    consent_record(
        patient=slot.patient,
        kind=ConsentKind.TREATMENT,
        decision=ConsentDecision.WITHDRAWN,
        recorded_by=keyworker,
        effective_at=at(TODAY, 8, 0),
    )
    with refused("S8", "No dose: the patient has no live treatment consent"):
        check_and_dose(slot, nurse, second_nurse)


def test_s8_no_prescription_without_treatment_consent(clinic, prescriber):
    from tests.factories import PatientFactory

    patient = PatientFactory(clinic=clinic)
    with refused("S8", "No prescription: the patient has no live treatment consent"):
        services.prescription_create(
            patient=patient,
            prescriber=prescriber,
            drug=Drug.METHADONE_ORAL,
            route=Route.ORAL,
            morning_dose_mg=Decimal("60"),
            daily_max_mg=Decimal("60"),
            starts_on=TODAY,
            now=MORNING,
        )


def test_s8_no_dose_once_the_prescription_is_stopped(slot, prescription, nurse, second_nurse, prescriber):
    check(slot, nurse)
    services.prescription_stop(prescription=prescription, prescriber=prescriber, reason="Transfer", now=MORNING)

    with refused("S8", "This slot was cancelled at 09:00: Prescription stopped: Transfer"):
        dose(slot, nurse, second_nurse, now=at(TODAY, 9, 5))


def test_s8_no_dose_outside_the_prescription_dates(patient, prescriber, nurse, second_nurse):
    prescription = PrescriptionFactory(patient=patient, prescriber=prescriber, ends_on=TODAY - datetime.timedelta(1))
    slot = SlotFactory(prescription=prescription, date=TODAY, session=Session.MORNING)
    with refused("S8", "No dose: there is no active, signed prescription for injectable diamorphine on 18 Nov"):
        check(slot, nurse)


def test_s8_the_route_must_be_the_prescribed_one(slot, nurse, second_nurse):
    check(slot, nurse)
    with refused("S8", "The prescription is for intravenous use, not intramuscular", field="route"):
        dose(slot, nurse, second_nurse, route=Route.INTRAMUSCULAR)


def test_s8_injectables_are_never_take_home(patient, prescriber):
    with refused("S8", "Injectable diamorphine is never supplied to take home", field="supply"):
        services.prescription_create(
            patient=patient,
            prescriber=prescriber,
            drug=Drug.DIAMORPHINE_INJECTABLE,
            route=Route.INTRAVENOUS,
            supply=Supply.TAKE_HOME,
            morning_dose_mg=Decimal("100"),
            daily_max_mg=Decimal("100"),
            starts_on=TODAY,
            now=MORNING,
        )


# --- S9 -------------------------------------------------------------------------------------------------


def test_s9_the_nurse_cannot_witness_their_own_dose(slot, nurse):
    check(slot, nurse)
    with refused("S9", "The witness must be another member of staff", field="witness"):
        dose(slot, nurse, nurse)


def test_s9_a_dose_without_a_witness_is_refused(slot, nurse):
    check(slot, nurse)
    with refused("S9", "Every dose needs a witness", field="witness"):
        dose(slot, nurse, None)


def test_s9_a_wrong_witness_password_is_refused(slot, nurse, second_nurse):
    check(slot, nurse)
    with refused("S9", "The witness's PIN (or password) is not correct", field="witness_password"):
        dose(slot, nurse, second_nurse, witness_password="not-the-password")
    assert not Administration.objects.exists()


def test_s9_the_witness_must_work_at_this_clinic_and_record_doses(slot, nurse, other_nurse, keyworker):
    check(slot, nurse)
    for outsider in (other_nurse, keyworker):
        with refused("S9", "active member of staff of this clinic", field="witness"):
            dose(slot, nurse, outsider)


# --- S10 ------------------------------------------------------------------------------------------------


def test_s10_a_correction_of_an_injection_given_records_where_it_was_given(slot, nurse, second_nurse):
    original = check_and_dose(slot, nurse, second_nurse)
    fields = {"administration": original, "author": nurse, "reason": "Dose was 90 mg", "route": Route.INTRAVENOUS,
              "injection_site": "", "given_at": original.given_at, "witness": second_nurse,
              "witness_password": PASSWORD, "now": at(TODAY, 9, 30)}  # fmt: skip

    with pytest.raises(ValidationError) as refused_site:
        services.correct_administration(dose_mg=Decimal("90"), **fields)
    assert refused_site.value.message_dict == {"injection_site": ["Record the injection site."]}
    assert not Administration.objects.filter(corrects=original).exists()

    # No dose given after all: there is no injection site to record.
    assert services.correct_administration(dose_mg=Decimal("0"), **fields).dose_mg == 0


def test_s10_a_correction_is_a_new_entry_pointing_at_the_original(slot, nurse, second_nurse):
    original = check_and_dose(slot, nurse, second_nurse)

    with refused("S10", "A correction needs a reason", field="reason"):
        services.correct_administration(
            administration=original,
            author=second_nurse,
            reason=" ",
            dose_mg=Decimal("90"),
            route=Route.INTRAVENOUS,
            injection_site="left_arm",
            given_at=original.given_at,
            witness=nurse,
            witness_password=PASSWORD,
            now=at(TODAY, 9, 30),
        )
    correction = services.correct_administration(
        administration=original,
        author=second_nurse,
        reason="Drew up 90 mg, not 100",
        dose_mg=Decimal("90"),
        route=Route.INTRAVENOUS,
        injection_site="left_arm",
        given_at=original.given_at,
        witness=nurse,
        witness_password=PASSWORD,
        now=at(TODAY, 9, 30),
    )
    original.refresh_from_db()
    assert (original.dose_mg, correction.corrects, correction.dose_mg) == (Decimal("100"), original, Decimal("90"))
    slot.refresh_from_db()
    assert slot.status == SlotStatus.PARTIAL

    with refused("S10", "already been corrected"):
        services.correct_administration(
            administration=original,
            author=second_nurse,
            reason="again",
            dose_mg=Decimal("80"),
            route=Route.INTRAVENOUS,
            injection_site="left_arm",
            given_at=original.given_at,
            witness=nurse,
            witness_password=PASSWORD,
            now=at(TODAY, 9, 40),
        )


# --- S11 ------------------------------------------------------------------------------------------------


def test_s11_no_dose_after_the_window_even_before_the_job_runs(slot, nurse, second_nurse):
    check(slot, nurse, now=at(TODAY, 10, 20))
    with refused("S11", "The morning window ended at 10:30; this slot is missed"):
        dose(slot, nurse, second_nurse, now=at(TODAY, 10, 31))


def test_s11_the_job_closes_unused_slots_as_missed_and_they_stay_closed(slot, nurse, second_nurse):
    services.slot_mark_arrived(slot=slot, nurse=nurse, now=at(TODAY, 10, 0))
    assert services.close_missed_slots(now=at(TODAY, 10, 31)) == 1
    slot.refresh_from_db()
    assert slot.status == SlotStatus.MISSED

    with refused("S11", "The morning slot was closed as missed at 10:31"):
        dose(slot, nurse, second_nurse, now=at(TODAY, 10, 32))


def test_s11_no_dose_before_the_window_opens(afternoon_slot, nurse):
    with refused("S11", "The afternoon window opens at 15:30"):
        check(afternoon_slot, nurse, now=at(TODAY, 14, 0))


# --- S12 ------------------------------------------------------------------------------------------------


def test_s12_naloxone_needs_dose_and_time_and_the_prescriber_is_alerted(
    slot, nurse, second_nurse, prescriber, mailoutbox, django_capture_on_commit_callbacks
):
    given = check_and_dose(slot, nurse, second_nurse)

    with refused("S12", "Naloxone given: record the naloxone dose", field="naloxone_dose_mg"):
        services.record_adverse_event(
            administration=given, recorded_by=nurse, kind=AdverseEventKind.NALOXONE, now=at(TODAY, 9, 10)
        )
    with django_capture_on_commit_callbacks(execute=True):
        event = services.record_adverse_event(
            administration=given,
            recorded_by=nurse,
            kind=AdverseEventKind.NALOXONE,
            occurred_at=at(TODAY, 9, 6),
            naloxone_dose_mg=Decimal("0.4"),
            naloxone_given_at=at(TODAY, 9, 7),
            now=at(TODAY, 9, 10),
        )

    alert = Alert.objects.get(adverse_event=event)
    assert alert.recipient == prescriber
    assert "Naloxone given (0.4 mg naloxone at 09:07): Sam Taylor" in alert.message
    assert mailoutbox == []  # the email waits in the outbox for the dispatcher
    run_dispatch(django_capture_on_commit_callbacks, at(TODAY, 9, 11))
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [prescriber.email]
    assert "Taylor" not in mailoutbox[0].body  # no identifiers by email


# --- Permissions and bad input ------------------------------------------------------------------------


def test_only_dosing_staff_of_the_clinic_may_dose(slot, nurse, second_nurse, other_nurse, keyworker):
    check(slot, nurse)
    for outsider in (other_nurse, keyworker):
        with pytest.raises(PermissionDenied):
            dose(slot, outsider, second_nurse)


def test_only_a_prescriber_of_the_clinic_may_prescribe(patient, nurse, other_prescriber):
    for outsider in (nurse, other_prescriber):
        with pytest.raises(PermissionDenied):
            services.prescription_create(
                patient=patient,
                prescriber=outsider,
                drug=Drug.METHADONE_ORAL,
                route=Route.ORAL,
                morning_dose_mg=Decimal("60"),
                daily_max_mg=Decimal("60"),
                starts_on=TODAY,
                now=MORNING,
            )


def test_a_refusal_is_a_validation_error_with_field_errors_for_forms_and_the_api(slot, nurse, second_nurse):
    check(slot, nurse)
    with pytest.raises(ValidationError) as info:
        dose(slot, nurse, second_nurse, dose_mg=Decimal("120"))
    assert info.value.message_dict == {
        "dose_mg": ["S4 · 120 mg is more than the prescribed 100 mg for the morning session"]
    }


def test_refusal_and_withholding_close_the_slot_and_are_idempotent(slot, afternoon_slot, nurse):
    services.record_refusal(slot=slot, nurse=nurse, reason="Did not want it", now=MORNING)
    services.record_refusal(slot=slot, nurse=nurse, reason="Did not want it", now=MORNING)
    services.withhold_dose(slot=afternoon_slot, nurse=nurse, reason="Unwell", now=AFTERNOON)
    slot.refresh_from_db()
    afternoon_slot.refresh_from_db()
    assert (slot.status, afternoon_slot.status) == (SlotStatus.REFUSED, SlotStatus.WITHHELD)
    with refused("S11", "already closed as refused"):
        services.withhold_dose(slot=slot, nurse=nurse, reason="x", now=MORNING)
