"""Property test: whatever staff do, in whatever order, no administration in force breaks a safety rule.

Hypothesis generates sequences of steps for one patient over a few days: the clock moving on (the
slot job makes the day's slots, the missed-slot job runs only when a step says so), pre-dose checks,
doses, corrections (of any amount and time, to 0 mg too), hold reviews, planned absences,
discharges, re-admissions, new prescriptions, and the prescriber's Home Office licence lapsing (it ends
today) and being renewed by the clinic manager. Every step goes through the services; a refusal
(a ValidationError naming its rule) is a fine outcome, anything else fails the test (it would be a
500). After each step the records are checked against S1-S4, S7, S8, S13 and S14 as they stood
when each dose was recorded (a later correction may change history, never a decision already taken).

INVARIANTS is the hook for further rules: a function (entries, context) asserting on the records.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from cd_register.models import Register
from dosing import rules, services
from dosing.models import (
    LICENSED_DRUGS,
    Administration,
    DosingSettings,
    Hold,
    PlannedAbsence,
    PrescriberLicence,
    Prescription,
    Slot,
    SlotStatus,
)
from dosing.services.doses import DOSE_AFTER_VOIDED_RECORD
from patients.models import Episode, Patient
from patients.services import patient_discharge, patient_readmit
from tests.factories.clinics import PASSWORD

from .conftest import LONDON

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 11, 16, 8, 10, tzinfo=LONDON)  # Monday, in the morning session

# The hatch's routine (next session, a visit) weighs three times as much as each other step.
routine = st.one_of(
    st.tuples(st.just("visit"), st.sampled_from(["100", "60", "100", "1000"])),
    st.tuples(st.just("days_away"), st.sampled_from([3, 1, 2])),
    st.tuples(st.just("next_session"), st.sampled_from([40, 5, 140])),
)
steps = st.one_of(
    routine,
    routine,
    routine,
    st.tuples(st.just("advance"), st.sampled_from([20, 60, 150, 400, 720, 1440])),
    st.tuples(st.just("check"), st.sampled_from(["proceed", "proceed", "withhold"])),
    st.tuples(st.just("dose"), st.sampled_from(["50", "100", "100", "150", "1000"])),
    st.tuples(
        st.just("correct"), st.tuples(st.sampled_from(["0", "60", "100", "1000"]), st.sampled_from([-900, -40, 0, 50]))
    ),
    st.tuples(st.just("missed_job"), st.none()),
    st.tuples(st.just("clear_hold"), st.none()),
    st.tuples(st.just("absence"), st.tuples(st.integers(0, 2), st.integers(1, 4))),
    st.tuples(st.just("discharge"), st.sampled_from(["custody", "died", "dropped_out"])),
    st.tuples(st.just("readmit"), st.none()),
    st.tuples(st.just("prescribe"), st.none()),
    st.tuples(st.just("licence_lapse"), st.none()),
    st.tuples(st.just("licence_renew"), st.none()),
)


class Simulation:
    def __init__(self, *, patient, nurse, witness, prescriber, keyworker, manager):
        self.patient, self.nurse, self.witness = patient, nurse, witness
        self.prescriber, self.keyworker, self.manager = prescriber, keyworker, manager
        self.clock = START
        self.episode_events = []  # (moment, "discharge" or "readmit"): what the harness saw succeed
        services.create_slots(days_ahead=0, now=self.clock)

    @property
    def today(self):
        return self.clock.astimezone(LONDON).date()

    def current_slot(self):
        slots = list(Slot.objects.filter(patient=self.patient, date=self.today).order_by("window_start"))
        for slot in slots:
            if self.clock < slot.window_end:
                return slot
        return slots[-1] if slots else None

    def run(self, action, argument):
        # No savepoint of our own: each service is one transaction, and a refusal must leave nothing behind
        # (but the S7 hold a refusal records in its own transaction).
        try:
            getattr(self, action)(argument)
        except ValidationError as refusal:
            text = str(refusal)
            assert text, "a refusal says why"
        else:
            if action in ("discharge", "readmit"):
                self.episode_events.append((self.clock, action))
        self.clock += datetime.timedelta(minutes=1)  # every step takes a moment

    def advance(self, minutes):
        self.clock += datetime.timedelta(minutes=minutes)
        services.create_slots(days_ahead=0, now=self.clock)

    def next_session(self, minutes_in):
        """On to the next session window that has not started, `minutes_in` minutes into it."""
        settings = DosingSettings.for_clinic(self.patient.clinic)
        for offset in range(3):
            day = self.today + datetime.timedelta(days=offset)
            for session in settings.sessions():
                start, end = settings.window(day, session)
                if start > self.clock:
                    self.clock = min(
                        start + datetime.timedelta(minutes=minutes_in), end - datetime.timedelta(minutes=1)
                    )
                    services.create_slots(days_ahead=0, now=self.clock)
                    return

    def days_away(self, days):
        """The patient does not come for `days` whole days: on to the morning session after them.

        The slot job made each day's slots early that day; the missed-slot job ran only if a step said so.
        """
        settings = DosingSettings.for_clinic(self.patient.clinic)
        for offset in range(1, days + 1):
            early = datetime.datetime.combine(self.today + datetime.timedelta(days=offset), datetime.time(6, 0))
            services.create_slots(days_ahead=0, now=early.replace(tzinfo=LONDON))
        start, _ = settings.window(self.today + datetime.timedelta(days=days + 1), settings.sessions()[0])
        self.clock = start + datetime.timedelta(minutes=10)
        services.create_slots(days_ahead=0, now=self.clock)

    def visit(self, mg):
        """The patient comes to the hatch: a pre-dose check that proceeds, then the dose."""
        self.check("proceed")
        self.clock += datetime.timedelta(minutes=2)
        self.dose(mg)

    def check(self, outcome):
        slot = self.current_slot()
        if slot is not None:
            services.record_pre_dose_check(
                slot=slot,
                checked_by=self.nurse,
                sedation="alert",
                intoxication_signs=False,
                withdrawal_signs=True,
                breath_alcohol_ug=Decimal(0),
                outcome=outcome,
                withhold_reason="Unwell" if outcome == "withhold" else "",
                now=self.clock,
            )

    def dose(self, mg):
        slot = self.current_slot()
        if slot is not None:
            services.administer_dose(
                slot=slot,
                dose_mg=Decimal(mg),
                route="iv",
                injection_site="left_arm",
                nurse=self.nurse,
                witness=self.witness,
                witness_password=PASSWORD,
                now=self.clock,
            )

    def correct(self, argument):
        mg, minutes = argument
        tip = (
            Administration.objects.filter(patient=self.patient, corrected_by__isnull=True)
            .order_by("-recorded_at", "-pk")
            .first()
        )
        if tip is not None:
            services.correct_administration(
                administration=tip,
                author=self.witness,
                reason="Recorded wrongly",
                dose_mg=Decimal(mg),
                route="iv",
                injection_site="left_arm",
                given_at=min(tip.given_at + datetime.timedelta(minutes=minutes), self.clock),
                witness=self.nurse,
                witness_password=PASSWORD,
                ampoules=self.ampoules_for(mg),
                now=self.clock,
            )

    def ampoules_for(self, mg):
        """Enough 100 mg ampoules for the corrected dose, so that only the safety rules can refuse it."""
        hundred = Register.objects.get(clinic=self.patient.clinic, drug="diamorphine_inj", strength_mg=100)
        return [(hundred, -(-int(mg) // 100))] if int(mg) else []

    def missed_job(self, _):
        services.close_missed_slots(now=self.clock)

    def clear_hold(self, _):
        hold = Hold.objects.filter(patient=self.patient, cleared_at__isnull=True).first()
        if hold is not None:
            services.clear_hold(
                hold=hold,
                prescriber=self.prescriber,
                morning_dose_mg=Decimal(50),
                afternoon_dose_mg=Decimal(50),
                now=self.clock,
            )

    def absence(self, argument):
        offset, days = argument
        first = self.today + datetime.timedelta(days=offset)
        services.absence_record(
            patient=self.patient,
            starts_on=first,
            ends_on=first + datetime.timedelta(days=days - 1),
            reason="hospital",
            recorded_by=self.keyworker,
            now=self.clock,
        )

    def discharge(self, reason):
        patient_discharge(patient=self.patient, reason=reason, discharged_by=self.keyworker, now=self.clock)

    def readmit(self, _):
        patient_readmit(patient=self.patient, readmitted_by=self.keyworker, now=self.clock)

    def prescribe(self, _):
        services.prescription_create(
            patient=self.patient,
            prescriber=self.prescriber,
            drug="diamorphine_inj",
            route="iv",
            morning_dose_mg=Decimal(100),
            afternoon_dose_mg=Decimal(100),
            daily_max_mg=Decimal(300),
            starts_on=self.today,
            now=self.clock,
        )

    def licence_lapse(self, _):
        """S14: the prescriber's licences for the clinic end today (never later than they did: a lapse
        does not rewrite the days a dose was already given under them)."""
        for licence in PrescriberLicence.objects.filter(prescriber=self.prescriber, clinic=self.patient.clinic):
            if licence.valid_to > self.today:
                PrescriberLicence.objects.filter(pk=licence.pk).update(valid_to=max(self.today, licence.valid_from))

    def licence_renew(self, _):
        services.licence_record(
            clinic=self.patient.clinic,
            by=self.manager,
            prescriber=self.prescriber,
            number=f"HO-RENEWED-{self.today:%Y%m%d}",
            valid_from=self.today,
            valid_to=self.today + datetime.timedelta(days=365),
            now=self.clock,
        )


# --- The invariants, each over the records as they stood when each dose was recorded -----------------------------


def in_force_at(entries, moment):
    """Entries recorded by `moment` that no entry recorded by then corrects."""
    known = [entry for entry in entries if entry.recorded_at <= moment]
    corrected = {entry.corrects_id for entry in known if entry.corrects_id}
    return [entry for entry in known if entry.pk not in corrected]


def doses(entries):
    """Entries that were doses (administer_dose), not corrections: originals, and doses on a reopened slot."""
    return [e for e in entries if e.corrects_id is None or e.correction_reason == DOSE_AFTER_VOIDED_RECORD]


def s1_one_dose_per_slot(entries, context):
    for moment in {entry.recorded_at for entry in entries}:
        per_slot = defaultdict(int)
        for entry in in_force_at(entries, moment):
            per_slot[entry.slot_id] += entry.dose_mg > 0
        assert max(per_slot.values(), default=0) <= 1, "S1"


def s2_s3_s4_as_recorded(entries, context):
    settings = context["settings"]
    for entry in entries:
        given = [e for e in in_force_at(entries, entry.recorded_at) if e.dose_mg > 0]
        if entry not in given:
            continue
        same_day = [e for e in given if e.slot.date == entry.slot.date]
        assert len(same_day) <= settings.sessions_per_day, "S2"
        others = [e.given_at for e in given if e.pk != entry.pk and e.slot_id != entry.slot_id]
        assert all(abs(at - entry.given_at) >= settings.minimum_interval for at in others), "S3"
        prescription = entry.prescription
        assert entry.dose_mg <= (prescription.dose_for(entry.slot.session) or 0), "S4 session dose"
        daily_max = rules.daily_maximum(prescription=prescription, settings=settings)
        assert sum(e.dose_mg for e in same_day) <= daily_max, "S4 daily maximum"


def s7_no_dose_after_the_missed_days(entries, context):
    """A dose recorded after 3 complete days with slots and no dose in force needs a review (a cleared hold)
    between the start of those days and the dose. A simpler, independent statement of S7."""
    threshold = context["settings"].missed_days_threshold
    slots = context["slots"]
    for entry in doses(entries):
        day = entry.slot.date
        previous = [day - datetime.timedelta(days=n) for n in range(1, threshold + 1)]
        given_then = {e.slot.date for e in in_force_at(entries, entry.recorded_at) if e.dose_mg > 0}
        window_ends = defaultdict(list)
        for slot in slots:
            if slot.date in previous and slot.status != SlotStatus.CANCELLED:
                window_ends[slot.date].append(slot.window_end)
        missed = [
            d for d in previous if window_ends[d] and d not in given_then and max(window_ends[d]) <= entry.recorded_at
        ]
        if len(missed) < threshold:
            continue
        first = min(slot.window_start for slot in slots if slot.date == previous[-1])
        reviews = [h for h in context["holds"] if h.cleared_at and first <= h.cleared_at <= entry.recorded_at]
        episode_starts = [e.started_on for e in context["episodes"] if previous[-1] < e.started_on <= day]
        assert reviews or episode_starts, f"S7: dose on {day} after {threshold} days without a dose"


def s8_s13_prescription_and_episode(entries, context):
    for entry in doses(entries):
        before = [action for moment, action in context["episode_events"] if moment <= entry.recorded_at]
        assert not before or before[-1] == "readmit", "S13: a dose after the discharge"
        prescription = entry.prescription
        assert prescription.signed_at <= entry.recorded_at, "S8 signed"
        for end in (prescription.stopped_at, prescription.superseded_at):
            assert end is None or end > entry.recorded_at, "S8 live when given"
        assert prescription.covers(entry.slot.date), "S8 dates"
        assert any(
            e.started_on <= entry.slot.date and (e.ended_on is None or entry.slot.date <= e.ended_on)
            for e in context["episodes"]
        ), "S13"


def s14_licensed_prescriber(entries, context):
    """Every dose of diamorphine is against a prescription whose prescriber held a licence for the clinic that day."""
    for entry in doses(entries):
        if entry.prescription.drug not in LICENSED_DRUGS:
            continue
        assert any(
            licence.prescriber_id == entry.prescription.prescriber_id and licence.covers(entry.slot.date)
            for licence in context["licences"]
        ), f"S14: dose on {entry.slot.date} without a licence"


INVARIANTS = [
    s1_one_dose_per_slot,
    s2_s3_s4_as_recorded,
    s7_no_dose_after_the_missed_days,
    s8_s13_prescription_and_episode,
    s14_licensed_prescriber,
]


def check_invariants(patient, episode_events=()):
    entries = list(
        Administration.objects.filter(patient=patient)
        .select_related("slot", "prescription")
        .order_by("recorded_at", "pk")
    )
    context = {
        "settings": DosingSettings.for_clinic(patient.clinic),
        "slots": list(Slot.objects.filter(patient=patient)),
        "holds": list(Hold.objects.filter(patient=patient)),
        "episodes": list(Episode.objects.filter(patient=patient)),
        "absences": list(PlannedAbsence.objects.filter(patient=patient)),
        "episode_events": list(episode_events),
        "licences": list(PrescriberLicence.objects.filter(clinic=patient.clinic)),
    }
    for invariant in INVARIANTS:
        invariant(entries, context)


@settings(
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Sequences that must always be tried, besides the generated ones: each reaches a rule's edge.
@example(sequence=[("visit", "100"), ("days_away", 3), ("visit", "100")])  # S7 with no job run
@example(sequence=[("visit", "100"), ("discharge", "custody"), ("next_session", 5), ("visit", "100")])  # S13
@example(sequence=[("visit", "100"), ("discharge", "died"), ("readmit", None), ("prescribe", None),
                   ("next_session", 5), ("visit", "100")])  # fmt: skip
@example(sequence=[("visit", "60"), ("correct", ("1000", 0)), ("correct", ("100", -900)), ("next_session", 5),
                   ("visit", "100"), ("correct", ("100", -40))])  # fmt: skip
@example(sequence=[("visit", "100"), ("correct", ("0", 0)), ("visit", "100"), ("visit", "100")])  # S1 reopened
@example(sequence=[("visit", "100"), ("absence", (1, 3)), ("days_away", 3), ("visit", "100"), ("clear_hold", None),
                   ("visit", "100")])  # fmt: skip
@example(
    sequence=[
        ("visit", "100"),
        ("licence_lapse", None),
        ("next_session", 5),
        ("visit", "100"),
        ("days_away", 1),
        ("visit", "100"),
        ("licence_renew", None),
        ("visit", "100"),
    ]
)  # S14
@given(sequence=st.lists(steps, min_size=4, max_size=22))
def test_no_sequence_of_steps_leaves_a_dose_in_force_that_breaks_a_safety_rule(
    sequence, prescription, nurse, second_nurse, prescriber, keyworker, manager
):
    with transaction.atomic():
        patient = Patient.objects.select_related("clinic").get(pk=prescription.patient_id)
        simulation = Simulation(
            patient=patient,
            nurse=nurse,
            witness=second_nurse,
            prescriber=prescriber,
            keyworker=keyworker,
            manager=manager,
        )
        for action, argument in sequence:
            simulation.run(action, argument)
            check_invariants(patient, simulation.episode_events)
        given_count = Administration.objects.filter(patient=patient, dose_mg__gt=0).count()
        event(f"doses recorded: {min(given_count, 3)}{'+' if given_count >= 3 else ''}")
        event(f"holds: {Hold.objects.filter(patient=patient).count()}")
        transaction.set_rollback(True)


def test_the_simulation_can_dose_so_the_property_is_not_vacuous(
    prescription, nurse, second_nurse, prescriber, keyworker, manager
):
    patient = Patient.objects.select_related("clinic").get(pk=prescription.patient_id)
    simulation = Simulation(
        patient=patient, nurse=nurse, witness=second_nurse, prescriber=prescriber, keyworker=keyworker, manager=manager
    )
    for action, argument in [
        ("advance", 90),
        ("check", "proceed"),
        ("dose", "100"),
        ("advance", 420),
        ("check", "proceed"),
        ("dose", "100"),
        ("correct", ("0", 0)),
        ("check", "proceed"),
        ("dose", "100"),
    ]:
        simulation.run(action, argument)
        check_invariants(patient, simulation.episode_events)
    assert Administration.objects.filter(patient=patient, corrected_by__isnull=True, dose_mg__gt=0).count() == 2
    assert Prescription.objects.live().filter(patient=patient).exists()


def test_the_simulation_lapses_and_renews_a_licence_so_s14_is_not_vacuous(
    prescription, nurse, second_nurse, prescriber, keyworker, manager
):
    patient = Patient.objects.select_related("clinic").get(pk=prescription.patient_id)
    simulation = Simulation(
        patient=patient, nurse=nurse, witness=second_nurse, prescriber=prescriber, keyworker=keyworker, manager=manager
    )
    given = []
    sequence = [("visit", "100"), ("licence_lapse", None), ("next_session", 5), ("visit", "100"), ("days_away", 1),
                ("visit", "100"), ("licence_renew", None), ("visit", "100")]  # fmt: skip
    for action, argument in sequence:
        simulation.run(action, argument)
        check_invariants(patient, simulation.episode_events)
        given.append(Administration.objects.filter(patient=patient, dose_mg__gt=0).count())
    # Dosed on the licence's last day (twice), refused the next morning, dosed again after the renewal.
    assert given == [1, 1, 1, 2, 2, 2, 2, 3]
