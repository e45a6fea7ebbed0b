"""An oral top-up beside the injectable (oral methadone or slow-release morphine, common in UK practice).

It gets its own once-a-day slot (`Slot.top_up`) in the session of its dose, so it is on the board
beside the injectable and is dosed, checked (S5), witnessed (S9) and registered (SPEC 5) like any
dose; its daily maximum is its own (S4 per drug, with the clinic's ceiling for that drug), and it
does not use up one of the injectable's sessions (S2 counts doses of the same drug).
"""

from datetime import datetime

from django.db.models import Q

from .. import rules
from ..models import INJECTABLE_DRUGS, DosingSettings, Prescription, Session, Slot


def check_top_up(prescription: Prescription) -> None:
    """S2: beside a live injectable, an oral prescription has one session's dose (and the other way round)."""
    others = Prescription.objects.live().filter(patient_id=prescription.patient_id).exclude(drug=prescription.drug)
    if prescription.supersedes_id:
        others = others.exclude(pk=prescription.supersedes_id)
    if prescription.is_injectable:
        for oral in others.filter(~Q(drug__in=sorted(INJECTABLE_DRUGS))):
            doses = {session: oral.dose_for(session) for session in Session.values}
            if sum(dose is not None for dose in doses.values()) > 1:
                raise rules.RuleViolation(
                    "S2",
                    f"The patient's {oral.get_drug_display().lower()} is given in several sessions; beside the "
                    "injectable an oral top-up is given once a day: change it to one session's dose first",
                )
        return
    if others.filter(drug__in=sorted(INJECTABLE_DRUGS)).exists():
        rules.check_top_up_once_daily(
            oral_doses={session: prescription.dose_for(session) for session in Session.values}
        )


def top_up_slots(
    *, settings: DosingSettings, day, prescriptions: list[Prescription], primary: dict, now: datetime
) -> list[Slot]:
    """The once-a-day slots of oral prescriptions beside each patient's injectable (`primary`), not yet made."""
    slots = []
    for prescription in prescriptions:
        main = primary.get(prescription.patient_id)
        if prescription.is_injectable or main is None or not main.is_injectable:
            continue
        session = next((s for s in settings.sessions() if prescription.dose_for(s) is not None), None)
        if session is None:
            continue
        window_start, window_end = settings.window(day, session)
        if window_end <= now:
            continue
        slots.append(
            Slot(
                patient_id=prescription.patient_id,
                clinic=settings.clinic,
                prescription=prescription,
                date=day,
                session=session,
                window_start=window_start,
                window_end=window_end,
                top_up=True,
            )
        )
    return slots
