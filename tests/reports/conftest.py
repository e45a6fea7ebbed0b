"""A small, hand-built clinic history whose every statistic is worked out by hand in the tests.

Patients (all of the Middlesbrough clinic unless said):
  P1  episode 5 Jan 2026, open. Doses around both 2026 clock changes (see `dosing_history`).
  P2  episode 10 Mar 2026, discharged 20 Apr 2026 (dropped out).
  P3  episode 15 Sep 2025 to 1 Dec 2025 (custody), then re-started 20 Mar 2026, open.
  P4  episode 10 Oct 2025 to 5 Mar 2026 (moved away).
  P5  episode 15 Jan 2025 to 20 Apr 2025 (dropped out).
  P6  episode 1 Feb 2025, open.
  P7  episode 10 Feb 2025 to 10 May 2025 (other): discharged exactly 3 months after starting.
  D1  a patient of the Darlington clinic (the commissioner covers it; a clinic manager of Middlesbrough does not).
"""

import datetime
from decimal import Decimal

import pytest

from dosing.models import SlotStatus
from patients.models import Episode, OutcomeInterview
from referrals.models import ReferralSource, ReferralStatus
from reports import services
from tests.factories import PatientFactory, PrescriptionFactory, ReferralFactory
from tests.factories import reports as history

D = datetime.date


def _patient(clinic, started_on, ended_on=None, reason="", **names):
    patient = PatientFactory(clinic=clinic, episode=False, **names)
    Episode.objects.create(
        patient=patient, clinic=clinic, started_on=started_on, ended_on=ended_on, discharge_reason=reason
    )
    return patient


def interview(
    patient, day, *, heroin, shoplifting=0, selling=0, psych=10, phys=10, qol=10, work=0, housing=False, recorded_by
):
    return OutcomeInterview.objects.create(
        patient=patient,
        episode=patient.episodes.filter(started_on__lte=day).order_by("-started_on").first(),
        interviewed_on=day,
        heroin_days=heroin,
        other_opiate_days=0,
        crack_days=0,
        cocaine_days=0,
        amphetamine_days=0,
        cannabis_days=0,
        alcohol_days=0,
        injected_days=heroin,
        shared_equipment=False,
        shoplifting_days=shoplifting,
        selling_drugs_days=selling,
        other_theft=False,
        assault=False,
        psychological_health=psych,
        physical_health=phys,
        quality_of_life=qol,
        paid_work_days=work,
        education_days=0,
        acute_housing_problem=housing,
        at_risk_of_eviction=False,
        recorded_by=recorded_by,
    )


@pytest.fixture
def world(clinic, other_clinic, nurse, second_nurse, prescriber, keyworker):
    p = {}
    p[1] = _patient(clinic, D(2026, 1, 5), given_name="Pat", family_name="Oneill")
    p[2] = _patient(clinic, D(2026, 3, 10), D(2026, 4, 20), "dropped_out", given_name="Sam", family_name="Twomey")
    p[3] = PatientFactory(clinic=clinic, episode=False, given_name="Jo", family_name="Threlkeld")
    Episode.objects.create(
        patient=p[3], clinic=clinic, started_on=D(2025, 9, 15), ended_on=D(2025, 12, 1), discharge_reason="custody"
    )
    Episode.objects.create(patient=p[3], clinic=clinic, started_on=D(2026, 3, 20))
    p[4] = _patient(clinic, D(2025, 10, 10), D(2026, 3, 5), "moved_away")
    p[5] = _patient(clinic, D(2025, 1, 15), D(2025, 4, 20), "dropped_out")
    p[6] = _patient(clinic, D(2025, 2, 1))
    p[7] = _patient(clinic, D(2025, 2, 10), D(2025, 5, 10), "other")
    p["d1"] = _patient(other_clinic, D(2026, 3, 1))
    return p


@pytest.fixture
def dosing_history(world, nurse, second_nurse, prescriber, other_clinic):
    """Slots and doses of P1 and P2 around the spring clock change (29 Mar 2026) and of P1 around the autumn one.

    March 2026 (clinic mbro): 8 slots = 5 given (one partial) + 1 missed + 1 withheld + 1 still open.
      mg: P1 28 Mar 200, P1 29 Mar 150, P2 29 Mar 60 -> 410 mg over 3 patient-days.
    April 2026: 4 slots = 2 given (one corrected 100 -> 80, so partial) + 1 refused + 1 cancelled.
      mg: P1 3 Apr 80 + 100 = 180 over 1 patient-day. Adverse events: 2 (1 naloxone).
    October 2026: P1 given on 24, 25 (clock change) and 26 Oct, morning only: 3 x 100 mg.
    Darlington: one dose of D1 on 29 Mar (60 mg).
    """
    w = dict(world)
    rx1 = PrescriptionFactory(patient=world[1], prescriber=prescriber)
    rx2 = PrescriptionFactory(
        patient=world[2],
        prescriber=prescriber,
        morning_dose_mg=Decimal(60),
        afternoon_dose_mg=Decimal(60),
        starts_on=D(2026, 3, 10),
    )
    given = SlotStatus.GIVEN
    h = history
    h.dose(h.slot(rx1, D(2026, 3, 28), "morning"), 100, nurse=nurse, witness=second_nurse)
    h.dose(h.slot(rx1, D(2026, 3, 28), "afternoon"), 100, nurse=nurse, witness=second_nurse)
    h.dose(h.slot(rx1, D(2026, 3, 29), "morning"), 100, nurse=nurse, witness=second_nurse)
    h.dose(h.slot(rx1, D(2026, 3, 29), "afternoon"), 50, nurse=nurse, witness=second_nurse)  # partial
    h.dose(h.slot(rx2, D(2026, 3, 29), "morning"), 60, nurse=second_nurse, witness=nurse)
    h.slot(rx1, D(2026, 3, 30), "morning", SlotStatus.MISSED)
    h.slot(rx1, D(2026, 3, 30), "afternoon", SlotStatus.WITHHELD)
    h.slot(rx2, D(2026, 3, 31), "morning")  # still open
    h.slot(rx1, D(2026, 4, 2), "morning", SlotStatus.REFUSED)
    h.slot(rx1, D(2026, 4, 2), "afternoon", SlotStatus.CANCELLED)
    first = h.dose(h.slot(rx1, D(2026, 4, 3), "morning"), 100, nurse=nurse, witness=second_nurse)
    h.correct(first, 80, author=second_nurse, witness=nurse)
    afternoon = h.dose(h.slot(rx1, D(2026, 4, 3), "afternoon"), 100, nurse=nurse, witness=second_nurse)
    h.adverse_event(afternoon, "overdose", recorded_by=nurse)
    h.adverse_event(afternoon, "naloxone", recorded_by=nurse)
    for day in (24, 25, 26):
        h.dose(h.slot(rx1, D(2026, 10, day), "morning"), 100, nurse=nurse, witness=second_nurse, status=given)
    rx_d = PrescriptionFactory(
        patient=world["d1"],
        prescriber=prescriber,
        morning_dose_mg=Decimal(60),
        afternoon_dose_mg=Decimal(60),
        starts_on=D(2026, 3, 1),
    )
    h.dose(h.slot(rx_d, D(2026, 3, 29), "morning"), 60, nurse=nurse, witness=second_nurse)
    w["rx1"], w["rx2"] = rx1, rx2
    services.refresh_summaries()
    return w


@pytest.fixture
def outcome_history(world, keyworker):
    p = world
    interview(
        p[1], D(2026, 1, 5), heroin=20, shoplifting=4, selling=2, psych=8, work=0, housing=True, recorded_by=keyworker
    )
    interview(p[1], D(2026, 4, 5), heroin=10, shoplifting=2, psych=12, work=4, housing=True, recorded_by=keyworker)
    interview(p[1], D(2026, 7, 5), heroin=4, psych=15, work=10, recorded_by=keyworker)
    interview(p[2], D(2026, 3, 10), heroin=26, recorded_by=keyworker)  # no follow-up: not compared
    interview(p[3], D(2025, 9, 15), heroin=25, recorded_by=keyworker)  # the first episode (ended before 2026)
    interview(p[3], D(2025, 11, 20), heroin=20, recorded_by=keyworker)
    interview(p[3], D(2026, 3, 20), heroin=28, selling=6, psych=6, housing=True, recorded_by=keyworker)
    interview(p[3], D(2026, 6, 20), heroin=14, psych=10, recorded_by=keyworker)
    services.refresh_summaries()  # the statistics read TOP outcomes from a summary, as they read doses
    return p


@pytest.fixture
def referral_history(world, clinic, other_clinic, keyworker, prescriber):
    def referral(day, source, status=ReferralStatus.NEW, patient=None, on=clinic):
        extra = {}
        if status in (ReferralStatus.ACCEPTED, ReferralStatus.DECLINED):
            extra["decided_by"] = prescriber
        if status == ReferralStatus.DECLINED:
            extra["decision_reason"] = "Criteria not met"
        if status == ReferralStatus.WITHDRAWN:
            extra["withdrawal_reason"] = "Moved away"
        return ReferralFactory(
            clinic=on, received_on=day, source=source, status=status, patient=patient, created_by=keyworker, **extra
        )

    referral(D(2026, 3, 2), ReferralSource.GP, ReferralStatus.ACCEPTED, world[2])
    referral(D(2026, 3, 5), ReferralSource.PROBATION, ReferralStatus.DECLINED)
    referral(D(2026, 3, 9), ReferralSource.GP)
    referral(D(2026, 4, 10), ReferralSource.SELF, ReferralStatus.WITHDRAWN)
    referral(D(2026, 4, 11), ReferralSource.SELF, ReferralStatus.ACCEPTED, world[3])
    referral(D(2026, 4, 12), ReferralSource.GP, on=other_clinic)
    return world
