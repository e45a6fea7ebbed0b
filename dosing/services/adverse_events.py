"""Adverse events after a dose (S12): recorded against the dose, and the prescriber alerted."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from clinics.access import require_capability_at
from clinics.roles import Capability

from .. import rules
from ..models import Administration, AdverseEvent, AdverseEventKind, AlertKind, Session
from ._common import _decimal, _lock_slot, _now
from .alerts import _alert, _prescribers_to_alert


@transaction.atomic
def record_adverse_event(
    *,
    administration: Administration,
    recorded_by,
    kind: str,
    occurred_at: datetime | None = None,
    naloxone_dose_mg: Decimal | None = None,
    naloxone_given_at: datetime | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> AdverseEvent:
    """S12: record the event against the dose and alert the prescriber (in the app, and by email after commit)."""
    now = _now(now)
    occurred_at = occurred_at or now
    slot = _lock_slot(administration.slot)
    clinic = slot.clinic
    require_capability_at(recorded_by, Capability.RECORD_DOSES, clinic=clinic, doing="record doses")
    administration = Administration.objects.select_related("prescription__prescriber").get(pk=administration.pk)
    naloxone_dose_mg = _decimal(naloxone_dose_mg, "naloxone_dose_mg")
    rules.check_adverse_event(
        kind=kind,
        naloxone_dose_mg=naloxone_dose_mg,
        naloxone_given_at=naloxone_given_at,
        occurred_at=occurred_at,
        administration=administration,
        now=now,
    )
    event = AdverseEvent.objects.create(
        administration=administration,
        kind=kind,
        occurred_at=occurred_at,
        naloxone_dose_mg=naloxone_dose_mg if kind == AdverseEventKind.NALOXONE else None,
        naloxone_given_at=naloxone_given_at if kind == AdverseEventKind.NALOXONE else None,
        notes=notes,
        recorded_by=recorded_by,
        recorded_at=now,
    )
    naloxone = (
        f" ({rules.mg(naloxone_dose_mg)} naloxone at {rules.hhmm(naloxone_given_at, clinic.zone)})"
        if kind == AdverseEventKind.NALOXONE
        else ""
    )
    message = (
        f"S12 · {AdverseEventKind(kind).label}{naloxone}: {slot.patient.display_name}, "
        f"{Session(slot.session).label.lower()} dose of {rules.mg(administration.dose_mg)} "
        f"given at {rules.hhmm(administration.given_at, clinic.zone)}; event at {rules.hhmm(occurred_at, clinic.zone)}."
    )
    _alert(
        clinic=clinic,
        recipients=_prescribers_to_alert(administration.prescription, clinic),
        kind=AlertKind.ADVERSE_EVENT,
        message=message,
        now=now,
        adverse_event=event,
    )
    return event
