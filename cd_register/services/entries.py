"""Registers, and the movements staff record by hand: receipts, waste, destruction, returns and
corrections (S10), each witnessed (S9) and dated the day of the movement (SPEC 5).
"""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinics.models import Clinic
from patients.models import Patient

from .. import rules
from ..models import EntryKind, Register, RegisterEntry
from ._common import MANAGERS, RECORDERS, _append, _lock, _require, _text, verify_witness


def _witnessed_append(register: Register, *, made_by, witnessed_by, witness_password: str, **entry) -> RegisterEntry:
    """Verify the witness first (hashing is slow: never under the lock), then append under the register's lock."""
    verify_witness(clinic=register.clinic, made_by=made_by, witness=witnessed_by, witness_password=witness_password)
    with transaction.atomic():
        return _append(_lock(register), made_by=made_by, witnessed_by=witnessed_by, **entry)


# --- Registers -------------------------------------------------------------------------------------


def register_create(*, clinic: Clinic, drug: str, strength_mg, form: str, created_by, now=None) -> Register:
    _require(created_by, MANAGERS, clinic, "manage the clinic")
    drug = rules.drug_of(drug)
    strength_mg = Decimal(strength_mg) if strength_mg is not None else None
    rules.check_product(drug=drug, strength_mg=strength_mg, form=form)
    now = now or timezone.now()
    with transaction.atomic():
        if Register.objects.filter(clinic=clinic, drug=drug, strength_mg=strength_mg, form=form).exists():
            raise ValidationError(
                {"strength_mg": "Strength: this clinic already has a register for this drug, strength and form."}
            )
        return Register.objects.create(
            clinic=clinic, drug=drug, strength_mg=strength_mg, form=form, created_by=created_by, created_at=now
        )


# --- Movements recorded by hand ------------------------------------------------------------------


def _occurred_at(register: Register, occurred_at: datetime | None, now: datetime) -> datetime:
    """SPEC 5: entries are made the same day as the movement, and never ahead of it."""
    if occurred_at is None:
        return now
    if occurred_at > now:
        raise ValidationError({"occurred_at": "Time: cannot be in the future."})
    zone = register.clinic.zone
    if timezone.localtime(occurred_at, zone).date() != timezone.localtime(now, zone).date():
        raise ValidationError({"occurred_at": "Time: register entries are made on the day of the movement."})
    return occurred_at


def record_receipt(
    *,
    register: Register,
    quantity,
    supplier_name: str,
    supplier_address: str = "",
    batch: str,
    expires_on=None,
    made_by,
    witness,
    witness_password: str,
    occurred_at: datetime | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> RegisterEntry:
    """Stock received from a supplier (reg. 20: supplier name and address, quantity; SPEC 5: batch, two staff)."""
    now = now or timezone.now()
    _require(made_by, MANAGERS, register.clinic, "record stock receipts")
    errors = {}
    if not _text(supplier_name):
        errors["supplier_name"] = "Supplier: enter the supplier's name."
    if not _text(supplier_address):
        errors["supplier_address"] = "Supplier address: enter the supplier's address."
    if not _text(batch):
        errors["batch"] = "Batch: enter the batch number printed on the pack."
    if expires_on is None:
        errors["expires_on"] = "Expiry date: enter the expiry date printed on the pack."
    elif expires_on < timezone.localtime(now, register.clinic.zone).date():
        errors["expires_on"] = "Expiry date: this stock has expired; do not receive it into the register."
    try:
        quantity = rules.check_quantity(quantity, whole=not register.is_oral_solution)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    occurred_at = _occurred_at(register, occurred_at, now)
    return _witnessed_append(
        register,
        kind=EntryKind.RECEIPT,
        quantity=quantity,
        now=now,
        occurred_at=occurred_at,
        made_by=made_by,
        witnessed_by=witness,
        supplier_name=_text(supplier_name),
        supplier_address=_text(supplier_address),
        batch=_text(batch),
        expires_on=expires_on,
        notes=_text(notes),
        witness_password=witness_password,
    )


def record_waste(
    *,
    register: Register,
    waste_mg,
    whole_units: int = 0,
    patient: Patient | None = None,
    made_by,
    witness,
    witness_password: str,
    reason: str = "",
    occurred_at: datetime | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> RegisterEntry:
    """Waste, witnessed: the unused part of an opened ampoule (quantity 0, the mg wasted), or
    `whole_units` ampoules broken or spoiled before use (they leave the stock)."""
    now = now or timezone.now()
    _require(made_by, RECORDERS, register.clinic, "record doses or manage the clinic")
    whole_units = Decimal(whole_units or 0)
    if whole_units < 0 or whole_units != whole_units.to_integral_value():
        raise ValidationError({"whole_units": "Whole ampoules: 0 or a whole number."})
    if waste_mg is None or Decimal(waste_mg) <= 0:
        raise ValidationError({"waste_mg": "Amount wasted: must be more than 0 mg."})
    waste_mg = Decimal(waste_mg)
    largest = register.strength_mg * max(whole_units, 1)
    if not register.is_oral_solution and waste_mg > largest:
        raise ValidationError(
            {"waste_mg": f"Amount wasted: at most {rules._mg(largest)} mg from {register.units(max(whole_units, 1))}."}
        )
    if patient is not None and patient.clinic_id != register.clinic_id:
        raise ValidationError({"patient": "Patient: not a patient of this clinic."})
    occurred_at = _occurred_at(register, occurred_at, now)
    return _witnessed_append(
        register,
        kind=EntryKind.WASTE,
        quantity=-whole_units,
        waste_mg=waste_mg,
        now=now,
        occurred_at=occurred_at,
        made_by=made_by,
        witnessed_by=witness,
        patient=patient,
        reason=_text(reason),
        notes=_text(notes),
        witness_password=witness_password,
    )


def record_destruction(
    *,
    register: Register,
    quantity,
    authorised_witness_name: str,
    made_by,
    witness,
    witness_password: str,
    reason: str = "",
    occurred_at: datetime | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> RegisterEntry:
    """Stock destroyed (out of date, damaged), witnessed, with the authorised witness's name."""
    now = now or timezone.now()
    _require(made_by, MANAGERS, register.clinic, "manage the clinic's stock")
    errors = {}
    if not _text(authorised_witness_name):
        errors["authorised_witness_name"] = "Authorised witness: enter the name of the person authorised to witness."
    try:
        quantity = rules.check_quantity(quantity, whole=not register.is_oral_solution)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    occurred_at = _occurred_at(register, occurred_at, now)
    return _witnessed_append(
        register,
        kind=EntryKind.DESTRUCTION,
        quantity=-quantity,
        now=now,
        occurred_at=occurred_at,
        made_by=made_by,
        witnessed_by=witness,
        authorised_witness_name=_text(authorised_witness_name),
        reason=_text(reason),
        notes=_text(notes),
        witness_password=witness_password,
    )


def record_return(
    *,
    register: Register,
    quantity,
    made_by,
    witness,
    witness_password: str,
    reason: str = "",
    occurred_at: datetime | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> RegisterEntry:
    """Stock returned to the pharmacy that supplied it."""
    now = now or timezone.now()
    _require(made_by, MANAGERS, register.clinic, "manage the clinic's stock")
    quantity = rules.check_quantity(quantity, whole=not register.is_oral_solution)
    occurred_at = _occurred_at(register, occurred_at, now)
    return _witnessed_append(
        register,
        kind=EntryKind.RETURN,
        quantity=-quantity,
        now=now,
        occurred_at=occurred_at,
        made_by=made_by,
        witnessed_by=witness,
        reason=_text(reason),
        notes=_text(notes),
        witness_password=witness_password,
    )


def record_correction(
    *,
    register: Register,
    corrects: RegisterEntry,
    quantity,
    reason: str,
    made_by,
    witness,
    witness_password: str,
    notes: str = "",
    now: datetime | None = None,
) -> RegisterEntry:
    """S10: a new, dated entry pointing at the one it corrects; the original stays as it was.

    `quantity` is the change to the balance that puts the register right (+ or -, or 0 when
    only a detail was wrong and `notes` says what it should have been).
    """
    now = now or timezone.now()
    _require(made_by, RECORDERS, register.clinic, "record doses or manage the clinic")
    errors = {}
    if corrects is None:
        errors["corrects"] = "Entry corrected: choose the entry this corrects."
    elif corrects.register_id != register.pk:
        errors["corrects"] = "Entry corrected: that entry belongs to another register; correct it in its own register."
    if not _text(reason):
        errors["reason"] = "Reason: say what was wrong."
    if quantity is None:
        errors["quantity"] = "Change to the balance: enter a number (0 if only a detail was wrong)."
    else:
        quantity = Decimal(quantity)
        if not register.is_oral_solution and quantity != quantity.to_integral_value():
            errors["quantity"] = "Change to the balance: ampoules and vials are counted whole."
        elif quantity == 0 and not _text(notes):
            errors["notes"] = "Notes: a correction that does not change the balance says what the right details are."
    if errors:
        raise ValidationError(errors)
    return _witnessed_append(
        register,
        kind=EntryKind.CORRECTION,
        quantity=quantity,
        now=now,
        occurred_at=now,
        made_by=made_by,
        witnessed_by=witness,
        corrects=corrects,
        reason=_text(reason),
        notes=_text(notes),
        witness_password=witness_password,
    )
