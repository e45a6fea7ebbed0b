"""Two years of plausible history for a demo clinic (issue 15, item 8), so a newcomer sees live charts.

Patients start over the two years (most in the first months, as a new service fills), attend twice a day
with missed, withheld and refused sessions, have the odd overdose (with naloxone), a TOP interview at entry
and every 3 months that improves on the whole, and a third are discharged for the usual reasons. Each has
the accepted referral that brought them in. Written in bulk straight to the tables, as `seed_scale` does:
past records, not the services' "now"; their controlled-drug register lines are not made (the statistics do
not read them, and the demo cupboard's stock stays as cd_register/demo.py left it). The statistics summaries
are rebuilt afterwards by reports/demo.py. Idempotent: a clinic that already has history is left alone.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from dosing.models import Administration, AdverseEvent, DosingSettings, Drug, Prescription, Route, Slot, SlotStatus
from patients.models import Episode, OutcomeInterview, Patient
from referrals.models import Referral, ReferralSource, ReferralStatus

MARKER = "Demo history"  # in gp_practice: how a re-run knows the history is there
GIVEN = ["Alex", "Sam", "Jo", "Chris", "Lee", "Robin", "Kim", "Pat", "Jamie", "Terry", "Dale", "Casey", "Morgan"]
FAMILY = ["Hartley", "Pearson", "Dunn", "Carr", "Metcalfe", "Bell", "Wilkinson", "Ward", "Robson", "Hughes", "Lowe"]
REASONS = [
    ("dropped_out", 40),
    ("completed", 12),
    ("to_oral", 15),
    ("custody", 12),
    ("to_other_service", 5),
    ("moved_away", 6),
    ("died", 3),
    ("other", 7),
]
SOURCES = [
    (ReferralSource.GP, 3),
    (ReferralSource.SELF, 3),
    (ReferralSource.PROBATION, 2),
    (ReferralSource.POLICE_DIVERSION, 2),
    (ReferralSource.COMMUNITY_DRUG_SERVICE, 2),
]


def _weighted(rng, pairs):
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


def _top(rng, episode, patient, day, progress: float, recorded_by) -> OutcomeInterview:
    """An interview; `progress` 0 at entry to 1 after a year or more: use and crime fall, health rises."""

    def days(start_high, floor=0):
        return max(floor, min(28, round(start_high * (1 - 0.7 * progress) + rng.gauss(0, 3))))

    def score(start):
        return max(0, min(20, round(start + 7 * progress + rng.gauss(0, 2))))

    return OutcomeInterview(
        patient=patient,
        episode=episode,
        interviewed_on=day,
        heroin_days=days(24),
        other_opiate_days=days(6),
        crack_days=days(10),
        cocaine_days=days(3),
        amphetamine_days=days(1),
        cannabis_days=days(8),
        alcohol_days=days(7),
        injected_days=days(22),
        shared_equipment=rng.random() < 0.3 * (1 - progress),
        shoplifting_days=days(9),
        selling_drugs_days=days(5),
        other_theft=rng.random() < 0.4 * (1 - 0.8 * progress),
        assault=rng.random() < 0.15 * (1 - 0.8 * progress),
        psychological_health=score(8),
        physical_health=score(9),
        quality_of_life=score(7),
        paid_work_days=0 if rng.random() < 0.85 - 0.3 * progress else rng.randint(2, 20),
        education_days=0 if rng.random() < 0.9 - 0.2 * progress else rng.randint(2, 12),
        acute_housing_problem=rng.random() < 0.35 * (1 - 0.6 * progress),
        at_risk_of_eviction=rng.random() < 0.15 * (1 - 0.5 * progress),
        recorded_by=recorded_by,
    )


@transaction.atomic
def seed_history(clinic, *, patients: int, days: int, today: date, staff: dict, seed: int = 1) -> int:
    """`patients` people over the `days` before `today` at `clinic`; returns the slots written (0 if present)."""
    if Patient.objects.filter(clinic=clinic, gp_practice=MARKER).exists():
        return 0
    rng = random.Random(seed)  # noqa: S311 (invented demo data, not a secret)
    nurse, witness = staff["nurse"], staff["nurse2"]
    prescriber, keyworker = staff["prescriber"], staff["keyworker"]
    settings = DosingSettings.for_clinic(clinic)
    first_day = today - timedelta(days=days)
    slots_written = 0
    for n in range(patients):
        # Most start as the service fills in its first months; the rest replace those who leave.
        offset = int(rng.random() ** 2 * 0.6 * days) if n < patients * 0.6 else rng.randint(0, days - 30)
        started_on = first_day + timedelta(days=offset)
        ended_on, reason = None, ""
        if rng.random() < 0.35:
            ended_on = min(today - timedelta(days=1), started_on + timedelta(days=rng.randint(20, 500)))
            reason = _weighted(rng, REASONS)
        patient = Patient.objects.create(
            clinic=clinic,
            given_name=rng.choice(GIVEN),
            family_name=f"{rng.choice(FAMILY)}-{n + 1}",
            date_of_birth=date(rng.randint(1966, 1996), rng.randint(1, 12), rng.randint(1, 28)),
            sex=rng.choice(["male", "male", "female"]),
            gp_practice=MARKER,
            status="discharged" if ended_on else "maintenance",
        )
        episode = Episode.objects.create(
            patient=patient,
            clinic=clinic,
            started_on=started_on,
            ended_on=ended_on,
            discharge_reason=reason,
            discharged_by=prescriber if ended_on else None,
        )
        Referral.objects.create(
            clinic=clinic,
            created_by=keyworker,
            source=_weighted(rng, SOURCES),
            referrer_organisation="Demo referrer",
            received_on=started_on - timedelta(days=rng.randint(10, 40)),
            given_name=patient.given_name,
            family_name=patient.family_name,
            date_of_birth=patient.date_of_birth,
            contact_route="phone",
            years_dependent=rng.randint(4, 20),
            months_in_oral_treatment=rng.randint(6, 60),
            injecting_days_last_3_months=rng.randint(45, 90),
            pregnant=False,
            contraindication=False,
            status=ReferralStatus.ACCEPTED,
            decided_by=prescriber,
            patient=patient,
        )
        mg = Decimal(rng.choice([80, 100, 120, 150, 180, 200]))
        window = settings.window(started_on, "morning")[0]
        prescription = Prescription.objects.create(
            patient=patient,
            drug=Drug.DIAMORPHINE_INJECTABLE,
            route=Route.INTRAVENOUS,
            morning_dose_mg=mg,
            afternoon_dose_mg=mg,
            daily_max_mg=mg * 2,
            starts_on=started_on,
            prescriber=prescriber,
            signed_at=window - timedelta(hours=1),
            stopped_at=settings.window(ended_on, "afternoon")[1] if ended_on else None,
            stopped_by=prescriber if ended_on else None,
            stop_reason="Discharged" if ended_on else "",
        )
        last = ended_on or today - timedelta(days=1)
        attendance = rng.uniform(0.80, 0.96)
        slots = []
        day = started_on
        while day <= last:
            for session in ("morning", "afternoon"):
                u = rng.random()
                if u < attendance:
                    status = SlotStatus.GIVEN
                elif u < attendance + 0.025:
                    status = SlotStatus.WITHHELD
                elif u < attendance + 0.035:
                    status = SlotStatus.REFUSED
                else:
                    status = SlotStatus.MISSED
                window_start, window_end = settings.window(day, session)
                slots.append(
                    Slot(
                        patient=patient,
                        clinic=clinic,
                        prescription=prescription,
                        date=day,
                        session=session,
                        window_start=window_start,
                        window_end=window_end,
                        status=status,
                        status_changed_at=window_start + timedelta(minutes=20),
                    )
                )
            day += timedelta(days=1)
        Slot.objects.bulk_create(slots, batch_size=2000)
        slots_written += len(slots)
        doses = Administration.objects.bulk_create(
            [
                Administration(
                    slot=slot,
                    patient=patient,
                    prescription=prescription,
                    drug=prescription.drug,
                    dose_mg=mg,
                    prescribed_dose_mg=mg,
                    route=prescription.route,
                    injection_site=rng.choice(["left_arm", "right_arm", "left_leg", "right_leg"]),
                    given_at=slot.window_start + timedelta(minutes=15),
                    nurse=nurse,
                    witness=witness,
                    observation_ends_at=slot.window_start + timedelta(minutes=30),
                    recorded_at=slot.window_start + timedelta(minutes=15),
                )
                for slot in slots
                if slot.status == SlotStatus.GIVEN
            ],
            batch_size=2000,
        )
        events = []
        for administration in doses:
            if rng.random() < 1 / 900:
                occurred = administration.given_at + timedelta(minutes=6)
                events.append(
                    AdverseEvent(
                        administration=administration,
                        kind="overdose",
                        occurred_at=occurred,
                        recorded_by=nurse,
                        recorded_at=occurred,
                    )
                )
                events.append(
                    AdverseEvent(
                        administration=administration,
                        kind="naloxone",
                        occurred_at=occurred,
                        naloxone_dose_mg=Decimal("0.4"),
                        naloxone_given_at=occurred,
                        recorded_by=nurse,
                        recorded_at=occurred,
                    )
                )
        AdverseEvent.objects.bulk_create(events)
        interviews = []
        day = started_on
        while day <= last:
            progress = min(1.0, (day - started_on).days / 365)
            interviews.append(_top(rng, episode, patient, day, progress, keyworker))
            day += timedelta(days=91)
        OutcomeInterview.objects.bulk_create(interviews)
    return slots_written
