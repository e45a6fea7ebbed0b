"""Session slots: one per patient, day and session their prescription doses in.

The scheduled job makes today's and the next days' slots for every clinic; a new or changed
prescription makes its patient's at once (`_create_slots_for_clinic`), so the patient is on
the board without waiting for the job. Closing the slots nobody used is S11, in holds.py.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from clinics.models import Clinic

from ..models import DosingSettings, PlannedAbsence, Prescription, Slot
from ._common import _now
from .topups import top_up_slots


def _create_slots_for_clinic(*, clinic: Clinic, days_ahead: int, now: datetime, patient_ids=None) -> int:
    settings = DosingSettings.for_clinic(clinic)
    today = timezone.localdate(now, clinic.zone)
    created = 0
    for offset in range(days_ahead + 1):
        day = today + timedelta(days=offset)
        prescriptions = (
            Prescription.objects.active_on(day)
            # S13: only inside an open treatment episode that has started by that day
            .filter(
                patient__clinic=clinic,
                patient__episodes__ended_on__isnull=True,
                patient__episodes__started_on__lte=day,
            )
            .order_by("patient_id", "signed_at")
        )
        if patient_ids is not None:
            prescriptions = prescriptions.filter(patient_id__in=patient_ids)
        prescriptions = list(prescriptions)
        primary: dict[int, Prescription] = {}
        for prescription in prescriptions:
            # One slot per session: the injectable if there is one, else the oral prescription.
            chosen = primary.get(prescription.patient_id)
            if chosen is None or (prescription.is_injectable and not chosen.is_injectable):
                primary[prescription.patient_id] = prescription
        away = set(
            # S7: no slot on a day of a planned absence
            PlannedAbsence.objects.filter(
                patient_id__in=list(primary), withdrawn_at__isnull=True, starts_on__lte=day, ends_on__gte=day
            ).values_list("patient_id", flat=True)
        )
        for patient_id in away:
            del primary[patient_id]
        existing = set(
            Slot.objects.filter(clinic=clinic, date=day, patient_id__in=list(primary), top_up=False).values_list(
                "patient_id", "session"
            )
        )
        new_slots = []
        for session in settings.sessions():
            window_start, window_end = settings.window(day, session)
            if window_end <= now:
                continue  # a window already over is never created (it would only count as missed)
            for patient_id, prescription in primary.items():
                if prescription.dose_for(session) is None or (patient_id, session) in existing:
                    continue
                new_slots.append(
                    Slot(
                        patient_id=patient_id,
                        clinic=clinic,
                        prescription=prescription,
                        date=day,
                        session=session,
                        window_start=window_start,
                        window_end=window_end,
                    )
                )
        # An oral top-up beside the injectable: its own once-a-day slot (an existing one is kept by ON CONFLICT).
        new_slots += top_up_slots(settings=settings, day=day, prescriptions=prescriptions, primary=primary, now=now)
        # A concurrent run may insert the same slots: the unique constraint and ON CONFLICT DO NOTHING keep one.
        Slot.objects.bulk_create(new_slots, ignore_conflicts=True)
        created += len(new_slots)
    return created


def create_slots(*, days_ahead: int = 1, now: datetime | None = None) -> int:
    """Make the slots of today and the next `days_ahead` days for every patient with an active prescription.

    Per clinic, in its own time zone; safe to run any number of times. Returns the number of
    slots it tried to create (a concurrent run may have made some of them).
    """
    now = _now(now)
    total = 0
    for clinic in Clinic.objects.filter(is_active=True):
        with transaction.atomic():
            total += _create_slots_for_clinic(clinic=clinic, days_ahead=days_ahead, now=now)
    return total
