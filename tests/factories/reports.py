"""Helpers that write dosing history directly (any date, any status), for the statistics tests.

The dosing rules are tested through the services in tests/dosing; here we need exact past records
quickly: a slot with a status, the administration in force, a correction (S10), an adverse event.
"""

import datetime
from decimal import Decimal

from dosing.models import Administration, AdverseEvent, Slot, SlotStatus

from .dosing import SlotFactory


def slot(prescription, day: datetime.date, session: str = "morning", status: str = SlotStatus.SCHEDULED) -> Slot:
    made = SlotFactory(prescription=prescription, date=day, session=session, status=status)
    if status != SlotStatus.SCHEDULED:
        Slot.objects.filter(pk=made.pk).update(status_changed_at=made.window_start + datetime.timedelta(minutes=20))
    return made


def dose(slot: Slot, mg, *, nurse, witness, status: str | None = None, minutes: int = 20) -> Administration:
    """The administration of `slot` (S1: the original entry); the slot becomes given, or partial below the dose."""
    prescription = slot.prescription
    prescribed = prescription.dose_for(slot.session)
    given_at = slot.window_start + datetime.timedelta(minutes=minutes)
    administration = Administration.objects.create(
        slot=slot,
        patient=slot.patient,
        prescription=prescription,
        drug=prescription.drug,
        dose_mg=Decimal(mg),
        prescribed_dose_mg=prescribed,
        route=prescription.route,
        injection_site="left_arm",
        given_at=given_at,
        nurse=nurse,
        witness=witness,
        observation_ends_at=given_at + datetime.timedelta(minutes=15),
        recorded_at=given_at,
    )
    status = status or (SlotStatus.GIVEN if Decimal(mg) >= prescribed else SlotStatus.PARTIAL)
    Slot.objects.filter(pk=slot.pk).update(status=status, status_changed_at=given_at, status_changed_by=nurse)
    return administration


def correct(administration: Administration, mg, *, author, witness, recorded_at=None) -> Administration:
    """S10: a new entry that replaces `administration`; the slot's status follows the corrected dose."""
    mg = Decimal(mg)
    recorded_at = recorded_at or administration.given_at + datetime.timedelta(days=1)
    correction = Administration.objects.create(
        slot=administration.slot,
        patient=administration.patient,
        prescription=administration.prescription,
        drug=administration.drug,
        dose_mg=mg,
        prescribed_dose_mg=administration.prescribed_dose_mg,
        route=administration.route,
        injection_site=administration.injection_site,
        given_at=administration.given_at,
        nurse=author,
        witness=witness,
        observation_ends_at=administration.observation_ends_at,
        corrects=administration,
        correction_reason="Dose recorded wrongly",
        recorded_at=recorded_at,
    )
    if mg == 0:
        status = SlotStatus.CANCELLED
    else:
        status = SlotStatus.GIVEN if mg >= administration.prescribed_dose_mg else SlotStatus.PARTIAL
    Slot.objects.filter(pk=administration.slot_id).update(status=status, status_changed_at=recorded_at)
    return correction


def adverse_event(administration: Administration, kind: str, *, recorded_by) -> AdverseEvent:
    occurred = administration.given_at + datetime.timedelta(minutes=5)
    naloxone = kind == "naloxone"
    return AdverseEvent.objects.create(
        administration=administration,
        kind=kind,
        occurred_at=occurred,
        naloxone_dose_mg=Decimal("0.4") if naloxone else None,
        naloxone_given_at=occurred if naloxone else None,
        recorded_by=recorded_by,
        recorded_at=occurred,
    )


def busy_clinic(clinic, *, patients: int, start: datetime.date, days: int, nurse, witness, prescriber, seed: int = 1):
    """Months of twice-daily sessions for a clinic, written in bulk (enough for figures above the suppression line).

    Each patient starts on a different day; about 1 in 12 sessions is missed and 1 in 40 withheld;
    every fifth patient is discharged half way. Returns the patients.
    """
    import random

    from dosing.models import DosingSettings
    from patients.models import Episode

    from .dosing import PrescriptionFactory
    from .patients import PatientFactory

    rng = random.Random(seed)
    settings = DosingSettings.for_clinic(clinic)
    made = []
    for n in range(patients):
        begins = start + datetime.timedelta(days=n * 3)
        patient = PatientFactory(clinic=clinic, episode__started_on=begins, family_name=f"Busy{n}")
        rx = PrescriptionFactory(patient=patient, prescriber=prescriber, starts_on=begins)
        ends = begins + datetime.timedelta(days=days // 2) if n % 5 == 4 else start + datetime.timedelta(days=days)
        if n % 5 == 4:
            Episode.objects.filter(patient=patient).update(ended_on=ends, discharge_reason="dropped_out")
        slots, statuses = [], []
        day = begins
        while day < ends:
            for session in ("morning", "afternoon"):
                u = rng.random()
                status = SlotStatus.MISSED if u < 0.08 else SlotStatus.WITHHELD if u < 0.105 else SlotStatus.GIVEN
                window_start, window_end = settings.window(day, session)
                slots.append(
                    Slot(
                        patient=patient,
                        clinic=clinic,
                        prescription=rx,
                        date=day,
                        session=session,
                        window_start=window_start,
                        window_end=window_end,
                        status=status,
                        status_changed_at=window_start,
                    )
                )
                statuses.append(status)
            day += datetime.timedelta(days=1)
        Slot.objects.bulk_create(slots)
        Administration.objects.bulk_create(
            Administration(
                slot=slot,
                patient=patient,
                prescription=rx,
                drug=rx.drug,
                dose_mg=Decimal(100),
                prescribed_dose_mg=Decimal(100),
                route=rx.route,
                injection_site="left_arm",
                given_at=slot.window_start + datetime.timedelta(minutes=10),
                nurse=nurse,
                witness=witness,
                observation_ends_at=slot.window_start + datetime.timedelta(minutes=25),
                recorded_at=slot.window_start + datetime.timedelta(minutes=10),
            )
            for slot in slots
            if slot.status == SlotStatus.GIVEN
        )
        made.append(patient)
    return made
