"""Helpers shared by several dosing services: the clock, the patient and slot locks, slot status
changes, numbers from forms, and the patient's live prescription and open hold.

Here, not in one of the services, because each is needed by more than one of them; none is public
but `live_prescription`, which the dosing pages use too.
"""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from hat_clinic.precompiled import STAND_IN_ID, Precompiled, PrecompiledUpdate
from patients.models import Patient

from ..models import Hold, Prescription, Slot


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _lock_slot(slot: Slot) -> Slot:
    """Lock the patient, then the slot: every transition of one patient is serialised (S1-S4).

    Always the patient row first (as prescription changes and the hold job do), so two
    writers never wait on each other in opposite orders. NO KEY UPDATE, not UPDATE: other
    transactions may still insert rows that refer to the patient (access log, consents).
    """
    if not _PATIENT_LOCK.all(patient_id=slot.patient_id):
        raise Patient.DoesNotExist(f"Patient {slot.patient_id} does not exist.")
    locked = _SLOT_LOCK.all(slot_id=slot.pk)
    if not locked:
        raise Slot.DoesNotExist(f"Slot {slot.pk} does not exist.")
    return locked[0]


# Taken by every transition of a slot (every check and dose): precompiled, as the ORM took longer to write the
# statements (the slot's with its patient, clinic, settings and prescription) than PostgreSQL to run them.
_PATIENT_LOCK = Precompiled(
    lambda *, patient_id: Patient.objects.select_for_update(no_key=True).filter(pk=patient_id).values_list("pk"),
    patient_id=STAND_IN_ID,
)
_SLOT_LOCK = Precompiled(
    lambda *, slot_id: (
        Slot.objects.select_for_update(no_key=True, of=("self",))
        .select_related("patient", "clinic__dosing_settings", "prescription")
        .filter(pk=slot_id)
    ),
    slot_id=STAND_IN_ID,
)


def _lock_patient(patient: Patient) -> Patient:
    return Patient.objects.select_for_update(no_key=True).select_related("clinic").get(pk=patient.pk)


# Written by every transition of a slot (every check and dose): the UPDATE written once (issue 13).
_SLOT_STATUS = PrecompiledUpdate(Slot, "status", "status_changed_at", "status_changed_by", "status_reason")


def _set_status(slot: Slot, status: str, *, by, now: datetime, reason: str = "") -> None:
    update, slot = _status_changed(slot, status, by=by, now=now, reason=reason)
    update.save(slot)


def _status_changed(slot: Slot, status: str, *, by, now: datetime, reason: str = "") -> tuple[PrecompiledUpdate, Slot]:
    """The slot's new status, set on it, for a write that carries its UPDATE (`PrecompiledInsert.create(updating=)`)."""
    slot.status, slot.status_changed_at, slot.status_changed_by, slot.status_reason = status, now, by, reason
    return _SLOT_STATUS, slot


def live_prescription(patient: Patient, drug: str) -> Prescription | None:
    return Prescription.objects.live().filter(patient=patient, drug=drug).first()


def _open_hold(patient: Patient) -> Hold | None:
    return Hold.objects.filter(patient=patient, cleared_at__isnull=True).first()


def _open_hold_or_last_review(patient: Patient) -> tuple[Hold | None, datetime | None]:
    """(the open hold, None), else (None, when the last hold was cleared, if ever): one query for both facts
    S7 needs before every dose, where `_open_hold` and then `hold_due` read them one after the other."""
    latest = (
        Hold.objects.filter(patient=patient).order_by(F("cleared_at").desc(nulls_first=True), "-since", "-pk").first()
    )
    if latest is None:
        return None, None
    if latest.cleared_at is None:
        return latest, None
    return None, latest.cleared_at


def _decimal(value, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite():
        raise ValidationError({field: "Enter a number."})
    return number
