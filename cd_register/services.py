"""Every write to the controlled-drug register (SPEC 5, S9, S10).

Each movement locks its register row (`select_for_update`) before it reads the balance, so
concurrent doses append one after another: the running balance stays exact and entry numbers
have no gaps. Several registers are always locked in id order, so two writers never wait on
each other in opposite orders. A balance never goes below zero; bad input is refused with a
ValidationError naming the field, before anything is written, and a refusal part-way through
rolls the whole movement back.

Dosing calls `draw_for_administration` inside its own administration transaction (this app
never imports dosing): the dose and its register lines commit or roll back together.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from clinics.access import may_act
from clinics.models import Clinic
from clinics.roles import Capability
from clinics.services import witness_secret_is_correct
from patients.models import Patient

from . import rules, selectors
from .models import (
    Discrepancy,
    DiscrepancyStatus,
    EntryKind,
    Register,
    RegisterEntry,
    StockCheck,
    StockForm,
)

# Who may do what (the pages and the API check the same before they show a form).
RECORDERS = (Capability.RECORD_DOSES, Capability.MANAGE_CLINIC)  # waste, stock checks, corrections, witnessing
MANAGERS = (Capability.MANAGE_CLINIC,)  # registers, receipts, destruction, returns, discrepancies


def _require(user, capabilities, clinic: Clinic, doing: str) -> None:
    if not may_act(user, *capabilities, clinic=clinic):
        raise PermissionDenied(f"Only staff of this clinic who may {doing} can do this.")


def verify_witness(*, clinic: Clinic, made_by, witness, witness_password: str) -> None:
    """S9: a second member of staff of this clinic confirms with their own PIN (or password).

    Checked before any lock is taken: the hash is deliberately slow. Wrong tries count
    towards the witness's lockout (clinics.services.witness_secret_is_correct).
    """
    if witness is None:
        raise ValidationError({"witness": "Witness: every register entry needs a witness."})
    if witness.pk == made_by.pk:
        raise ValidationError({"witness": "Witness: must be another member of staff, not the person recording."})
    if not may_act(witness, *RECORDERS, clinic=clinic):
        raise ValidationError(
            {"witness": "Witness: must be an active nurse, prescriber or clinic manager of this clinic."}
        )
    if not witness_secret_is_correct(witness=witness, secret=witness_password):
        raise ValidationError(
            {"witness_password": "Witness PIN or password: not correct (too many wrong tries lock it for a while)."}
        )


def _lock(register: Register) -> Register:
    """The per-register lock: every entry of this register waits here for the previous one to commit."""
    return Register.objects.select_for_update().get(pk=register.pk)


def _append(register: Register, *, kind: str, quantity: Decimal, now: datetime, **fields) -> RegisterEntry:
    """Append one entry to a LOCKED register: next number, new running balance, never below zero."""
    balance = register.balance + quantity
    if balance < 0:
        raise ValidationError({"quantity": _not_enough(register, needed=-quantity)})
    register.last_sequence += 1
    register.balance = balance
    entry = RegisterEntry.objects.create(
        register=register,
        sequence=register.last_sequence,
        kind=kind,
        quantity=quantity,
        balance_after=balance,
        entered_at=now,
        **fields,
    )
    register.save(update_fields=["last_sequence", "balance"])
    return entry


def _not_enough(register: Register, *, needed: Decimal) -> str:
    product = f"{register.strength_label} {register.get_drug_display().lower()} {register.unit_plural}"
    if register.balance == 0:
        return f"No {product} left in stock (balance 0): record the receipt first."
    return (
        f"Only {register.units(register.balance)} of {product} in stock, {register.units(needed)} needed: "
        "record the receipt first."
    )


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


def _text(value: str | None) -> str:
    return (value or "").strip()


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
    verify_witness(clinic=register.clinic, made_by=made_by, witness=witness, witness_password=witness_password)
    with transaction.atomic():
        return _append(
            _lock(register),
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
    verify_witness(clinic=register.clinic, made_by=made_by, witness=witness, witness_password=witness_password)
    with transaction.atomic():
        return _append(
            _lock(register),
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
    verify_witness(clinic=register.clinic, made_by=made_by, witness=witness, witness_password=witness_password)
    with transaction.atomic():
        return _append(
            _lock(register),
            kind=EntryKind.DESTRUCTION,
            quantity=-quantity,
            now=now,
            occurred_at=occurred_at,
            made_by=made_by,
            witnessed_by=witness,
            authorised_witness_name=_text(authorised_witness_name),
            reason=_text(reason),
            notes=_text(notes),
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
    verify_witness(clinic=register.clinic, made_by=made_by, witness=witness, witness_password=witness_password)
    with transaction.atomic():
        return _append(
            _lock(register),
            kind=EntryKind.RETURN,
            quantity=-quantity,
            now=now,
            occurred_at=occurred_at,
            made_by=made_by,
            witnessed_by=witness,
            reason=_text(reason),
            notes=_text(notes),
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
    verify_witness(clinic=register.clinic, made_by=made_by, witness=witness, witness_password=witness_password)
    with transaction.atomic():
        return _append(
            _lock(register),
            kind=EntryKind.CORRECTION,
            quantity=quantity,
            now=now,
            occurred_at=now,
            made_by=made_by,
            witnessed_by=witness,
            corrects=corrects,
            reason=_text(reason),
            notes=_text(notes),
        )


# --- Stock checks and discrepancies --------------------------------------------------------------


def run_stock_check(
    *,
    register: Register,
    counted,
    checked_by,
    witness,
    witness_password: str,
    notes: str = "",
    now: datetime | None = None,
) -> StockCheck:
    """Count the cupboard against the balance; a difference opens a discrepancy for the clinic manager."""
    now = now or timezone.now()
    _require(checked_by, RECORDERS, register.clinic, "record doses or manage the clinic")
    if counted is None or Decimal(counted) < 0:
        raise ValidationError({"counted": "Count: enter how many are in the cupboard (0 or more)."})
    counted = Decimal(counted)
    if not register.is_oral_solution and counted != counted.to_integral_value():
        raise ValidationError({"counted": "Count: ampoules and vials are counted whole."})
    verify_witness(clinic=register.clinic, made_by=checked_by, witness=witness, witness_password=witness_password)
    with transaction.atomic():
        # The lock makes the computed balance the one at the moment of the count, not one a dose is changing.
        locked = _lock(register)
        check = StockCheck.objects.create(
            register=locked,
            counted=counted,
            computed_balance=locked.balance,
            difference=counted - locked.balance,
            checked_by=checked_by,
            witnessed_by=witness,
            checked_at=now,
            notes=_text(notes),
        )
        if check.difference != 0:
            Discrepancy.objects.create(stock_check=check)
        return check


def close_discrepancy(
    *, discrepancy: Discrepancy, investigation_note: str, closed_by, now: datetime | None = None
) -> Discrepancy:
    """The clinic manager closes an investigated discrepancy with a note. It stays listed."""
    now = now or timezone.now()
    clinic = discrepancy.stock_check.register.clinic
    _require(closed_by, MANAGERS, clinic, "manage the clinic")
    if not _text(investigation_note):
        raise ValidationError({"investigation_note": "Investigation note: say what was found and what was done."})
    with transaction.atomic():
        locked = Discrepancy.objects.select_for_update().get(pk=discrepancy.pk)
        if not locked.is_open:
            raise ValidationError(
                {"investigation_note": "This discrepancy was already closed; its note is kept as it was."}
            )
        locked.status = DiscrepancyStatus.CLOSED
        locked.investigation_note = _text(investigation_note)
        locked.closed_by = closed_by
        locked.closed_at = now
        locked.save(update_fields=["status", "investigation_note", "closed_by", "closed_at"])
        return locked


# --- Doses: called by dosing inside its administration transaction ------------------------------


@dataclass
class Proposal:
    """The ampoules (or ml) to draw for a dose.

    `picks` is a list of (register, count); `waste_mg` is the unused part left in the last,
    smallest ampoule (`waste_register`). When the stock cannot cover the dose, `picks` is empty
    and `problem` says why in words a nurse can act on.
    """

    drug: str
    dose_mg: Decimal
    picks: list[tuple[Register, Decimal]] = field(default_factory=list)
    total_mg: Decimal = Decimal(0)
    waste_mg: Decimal = Decimal(0)
    waste_register: Register | None = None
    problem: str = ""

    @property
    def is_possible(self) -> bool:
        return bool(self.picks)

    @property
    def ampoule_count(self) -> Decimal:
        return sum((count for _, count in self.picks), Decimal(0))

    def describe(self) -> str:
        """'1 x 100 mg + 2 x 30 mg (160 mg, 10 mg waste)', with a multiplication sign."""
        if not self.picks:
            return self.problem
        parts = rules.picks_label(self.picks)
        if self.picks[0][0].is_oral_solution:
            return parts
        waste = f", {rules._mg(self.waste_mg)} mg waste" if self.waste_mg else ", no waste"
        return f"{parts} ({rules._mg(self.total_mg)} mg{waste})"


def _registers_of(clinic: Clinic, drug: str, *, lock: bool) -> list[Register]:
    registers = Register.objects.filter(clinic=clinic, drug=drug).select_related("clinic").order_by("pk")
    if lock:
        registers = registers.select_for_update(of=("self",))
    return list(registers)


def _propose(*, registers: list[Register], drug: str, dose_mg: Decimal) -> Proposal:
    proposal = Proposal(drug=drug, dose_mg=dose_mg)
    label = rules.CdDrug(drug).label.lower()
    if dose_mg <= 0:
        proposal.problem = "Dose: must be more than 0 mg."
        return proposal
    solutions = [r for r in registers if r.form == StockForm.ORAL_SOLUTION]
    if solutions:
        # Oral solution: measure the dose in ml from the first bottle register that holds enough.
        for register in solutions:
            ml = dose_mg / register.strength_mg
            if register.balance >= ml:
                proposal.picks = [(register, ml)]
                proposal.total_mg = dose_mg
                return proposal
        proposal.problem = f"Not enough {label} in stock for {rules._mg(dose_mg)} mg: record the receipt first."
        return proposal
    by_id = {register.pk: register for register in registers}
    picks = rules.choose_ampoules(
        dose_mg=dose_mg, stock=[(r.pk, r.strength_mg, int(r.balance)) for r in registers if r.balance > 0]
    )
    if picks is None:
        in_stock = ", ".join(f"{r.units(r.balance)} of {r.strength_label}" for r in registers if r.balance > 0)
        proposal.problem = (
            f"Not enough {label} in stock for a {rules._mg(dose_mg)} mg dose "
            f"({'in stock: ' + in_stock if in_stock else 'none in stock'}): record the receipt first."
        )
        return proposal
    return _with_waste(proposal, [(by_id[p.register_id], Decimal(p.count)) for p in picks])


def _with_waste(proposal: Proposal, picks: list[tuple[Register, Decimal]]) -> Proposal:
    proposal.picks = picks
    proposal.total_mg = sum((register.strength_mg * count for register, count in picks), Decimal(0))
    proposal.waste_mg = proposal.total_mg - proposal.dose_mg
    if proposal.waste_mg > 0:
        # The part-used ampoule is drawn last: the smallest strength chosen.
        proposal.waste_register = min((register for register, _ in picks), key=lambda r: (r.strength_mg, r.pk))
    return proposal


def propose_ampoules(*, clinic: Clinic, drug: str, dose_mg) -> Proposal:
    """What to draw for `dose_mg` from this clinic's stock of `drug`: least waste, then fewest ampoules.

    A read for the dosing form (no lock); `draw_for_administration` decides again under lock.
    """
    drug = rules.drug_of(drug)
    return _propose(registers=_registers_of(clinic, drug, lock=False), drug=drug, dose_mg=Decimal(dose_mg))


def draw_for_administration(
    *,
    clinic: Clinic,
    drug: str,
    dose_mg,
    patient: Patient,
    administration_ref: int,
    made_by,
    witness,
    ampoules: list[tuple[Register, int]] | None = None,
    now: datetime | None = None,
) -> list[RegisterEntry]:
    """Record the ampoules drawn for a dose and the waste of the part-used one, in the CALLER's transaction.

    Dosing calls this inside its administration transaction after verifying the witness (S9):
    if anything here is refused (not enough stock), the ValidationError rolls the dose back
    too, and no register line is left behind. `ampoules` is the nurse's choice as
    (register, count) pairs; without it the least-waste proposal is drawn.
    """
    now = now or timezone.now()
    drug = rules.drug_of(drug)
    dose_mg = Decimal(dose_mg)
    if witness is None or witness.pk == made_by.pk:
        raise ValidationError({"witness": "Witness: must be another member of staff, not the person recording."})
    if patient.clinic_id != clinic.pk:
        raise ValidationError({"patient": "Patient: not a patient of this clinic."})
    with transaction.atomic():
        # Lock every register of this drug, in id order (no deadlocks), before reading balances.
        registers = _registers_of(clinic, drug, lock=True)
        by_id = {register.pk: register for register in registers}
        if ampoules is None:
            proposal = _propose(registers=registers, drug=drug, dose_mg=dose_mg)
            if not proposal.is_possible:
                raise ValidationError({"ampoules": proposal.problem})
        else:
            proposal = _nurses_choice(by_id=by_id, ampoules=ampoules, drug=drug, dose_mg=dose_mg)
        common = {"occurred_at": now, "made_by": made_by, "witnessed_by": witness, "patient": patient}
        entries = []
        for register, count in sorted(proposal.picks, key=lambda pick: pick[0].pk):
            if register.balance < count:
                raise ValidationError({"ampoules": _not_enough(register, needed=count)})
            entries.append(
                _append(
                    register,
                    kind=EntryKind.ADMINISTRATION,
                    quantity=-count,
                    now=now,
                    administration_ref=administration_ref,
                    **common,
                )
            )
        if proposal.waste_mg > 0:
            register = proposal.waste_register
            entries.append(
                _append(
                    register,
                    kind=EntryKind.WASTE,
                    quantity=Decimal(0),
                    waste_mg=proposal.waste_mg,
                    now=now,
                    administration_ref=administration_ref,
                    reason=(
                        f"Unused part of a {register.strength_label} {register.unit} "
                        f"after a {rules._mg(dose_mg)} mg dose"
                    ),
                    **common,
                )
            )
        return entries


def _chosen(*, by_id: dict, ampoules, drug: str, allow_none: bool = False) -> list[tuple[Register, Decimal]]:
    """The nurse's (register, count) pairs checked and merged: registers of this clinic and drug, whole ampoules.

    `allow_none`: a count of 0 (and an empty list) is a statement that nothing was drawn (a correction).
    """
    counts: dict[int, Decimal] = {}
    for register, count in ampoules:
        if register.pk not in by_id:
            raise ValidationError(
                {"ampoules": f"Ampoules: {register} is not a {rules.CdDrug(drug).label.lower()} register here."}
            )
        count = Decimal(count)
        if allow_none and count == 0:
            continue
        if allow_none and count < 0:
            raise ValidationError({"ampoules": "Ampoules: enter 0 or more of each."})
        rules.check_quantity(count, whole=not by_id[register.pk].is_oral_solution, field="ampoules")
        if count >= 10**7 or count != count.quantize(Decimal("0.01")):
            # What a register line can hold (9 digits, 2 decimals): refused here, not by the database.
            raise ValidationError({"ampoules": "Ampoules: at most 2 decimal places, and fewer than 10,000,000."})
        counts[register.pk] = counts.get(register.pk, Decimal(0)) + count
    return [(by_id[pk], count) for pk, count in sorted(counts.items())]


def _nurses_choice(*, by_id: dict, ampoules, drug: str, dose_mg: Decimal) -> Proposal:
    """Check the nurse's own choice: registers of this clinic and drug, whole counts, enough for the dose."""
    picks = _chosen(by_id=by_id, ampoules=ampoules, drug=drug)
    if not picks:
        raise ValidationError({"ampoules": "Ampoules: choose at least one."})
    proposal = _with_waste(Proposal(drug=drug, dose_mg=dose_mg), picks)
    if proposal.total_mg < dose_mg:
        drawn = f"{rules.picks_label(picks)} ({rules._mg(proposal.total_mg)} mg)"
        raise ValidationError({"ampoules": f"Ampoules: {drawn} is less than the {rules._mg(dose_mg)} mg dose."})
    if proposal.waste_register is not None and proposal.waste_mg >= proposal.waste_register.strength_mg:
        raise ValidationError(
            {"ampoules": f"Ampoules: {proposal.describe()} opens an ampoule the dose does not need; draw fewer."}
        )
    return proposal


# --- Dose corrections (S10): called by dosing inside its correction transaction ---------------------------


def correct_draw_for_administration(
    *,
    clinic: Clinic,
    drug: str,
    dose_mg,
    patient: Patient,
    corrected_refs,
    administration_ref: int,
    made_by,
    witness,
    reason: str,
    ampoules: list[tuple[Register, int]] | None = None,
    now: datetime | None = None,
) -> list[RegisterEntry]:
    """S10: make the register say what really came out of the cupboard for a corrected dose, in the CALLER's
    transaction.

    Dosing calls this inside its dose-correction transaction, after verifying the witness (S9),
    as it calls `draw_for_administration` for a dose: a refusal here rolls the dose correction
    back too. `corrected_refs` are the ids of the dose's administration records so far (the
    original and any earlier corrections); the new lines carry `administration_ref`, the
    correcting record. `dose_mg` is the dose really given (0: none).

    - `ampoules=None`: the ampoules recorded were right, only the dose differs. The waste is
      recomputed: a WASTE entry for mg newly unused, or a CORRECTION of the waste entry when
      less was wasted (its `waste_mg` is the mg not wasted after all). A dose that was never
      in the register (recorded before doses wrote it) is left as it is.
    - `ampoules=[(register, count), ...]` (may be empty: nothing was drawn): the ampoules really
      drawn. A CORRECTION of the dose's administration entry in each register whose count
      differs (its quantity is the change to the balance), an ADMINISTRATION entry in a register
      the dose had not drawn from, and the waste recomputed as above. A larger draw needs the
      stock: refused on `ampoules` otherwise, nothing written.
    """
    now = now or timezone.now()
    drug = rules.drug_of(drug)
    dose_mg = Decimal(dose_mg)
    reason = _text(reason)
    if witness is None or witness.pk == made_by.pk:
        raise ValidationError({"witness": "Witness: must be another member of staff, not the person recording."})
    if patient.clinic_id != clinic.pk:
        raise ValidationError({"patient": "Patient: not a patient of this clinic."})
    if not reason:
        raise ValidationError({"reason": "Reason: say what was wrong."})
    with transaction.atomic():
        # The same locks, in the same order, as a dose: every register of the drug, in id order.
        registers = _registers_of(clinic, drug, lock=True)
        by_id = {register.pk: register for register in registers}
        lines = list(selectors.dose_lines(clinic=clinic, drug=drug, administration_refs=corrected_refs))
        recorded = rules.recorded_draw(lines)
        if ampoules is None:
            if not lines:
                return []
            real = [(by_id[pk], count) for pk, count in sorted(recorded.drawn.items())]
        else:
            real = _chosen(by_id=by_id, ampoules=ampoules, drug=drug, allow_none=True)
        draw = _with_waste(Proposal(drug=drug, dose_mg=dose_mg), real)
        if draw.total_mg < dose_mg:
            raise ValidationError({"ampoules": _too_little(draw, dose_mg=dose_mg, as_recorded=ampoules is None)})
        real_counts = {register.pk: count for register, count in real}
        changes = {
            pk: real_counts.get(pk, Decimal(0)) - recorded.drawn.get(pk, Decimal(0))
            for pk in sorted(set(real_counts) | set(recorded.drawn))
        }
        for pk, change in changes.items():
            if change > by_id[pk].balance:
                raise ValidationError({"ampoules": _not_enough(by_id[pk], needed=change)})
        wasted = rules.spread_waste(
            picks=[(register.pk, register.strength_mg, count) for register, count in real], waste_mg=draw.waste_mg
        )
        common = {
            "now": now,
            "occurred_at": now,
            "made_by": made_by,
            "witnessed_by": witness,
            "patient": patient,
            "administration_ref": administration_ref,
        }
        why = f"dose record corrected to {rules._mg(dose_mg)} mg: {reason}"
        entries = []
        for pk, change in changes.items():
            if change:
                entries.append(_correct_drawn(by_id[pk], change=change, lines=lines, why=why, common=common))
        for pk in sorted(set(wasted) | set(recorded.wasted_mg)):
            change = wasted.get(pk, Decimal(0)) - recorded.wasted_mg.get(pk, Decimal(0))
            if change > 0:
                register = by_id[pk]
                entries.append(
                    _append(
                        register,
                        kind=EntryKind.WASTE,
                        quantity=Decimal(0),
                        waste_mg=change,
                        reason=f"Unused part of the {register.strength_label} {register.unit_plural} drawn; {why}",
                        **common,
                    )
                )
            elif change < 0:
                entries.extend(_take_back_waste(by_id[pk], mg=-change, lines=lines, why=why, common=common))
        return entries


def _too_little(draw: Proposal, *, dose_mg: Decimal, as_recorded: bool) -> str:
    drawn = f"{rules.picks_label(draw.picks)} ({rules._mg(draw.total_mg)} mg)" if draw.picks else "no ampoules"
    if as_recorded:
        return (
            f"Ampoules: the register shows {drawn} drawn for this dose, less than the {rules._mg(dose_mg)} mg "
            "really given; enter the ampoules really drawn."
        )
    return f"Ampoules: {drawn} is less than the {rules._mg(dose_mg)} mg dose really given."


def _correct_drawn(register: Register, *, change: Decimal, lines: list, why: str, common: dict) -> RegisterEntry:
    """`change` more (+) or fewer (-) units drawn for the dose in this LOCKED register than it records."""
    ours = [line for line in lines if line.register_id == register.pk]
    drawn = [line for line in ours if line.kind == EntryKind.ADMINISTRATION]
    target = (drawn or ours or [None])[-1]
    if target is None:
        # The dose had not drawn from this register: nothing to point at, so the draw itself is entered now.
        return _append(
            register, kind=EntryKind.ADMINISTRATION, quantity=-change, reason=f"Drawn for this dose; {why}", **common
        )
    more_or_fewer = "more" if change > 0 else "fewer"
    return _append(
        register,
        kind=EntryKind.CORRECTION,
        quantity=-change,
        corrects=target,
        reason=f"{register.units(abs(change))} {more_or_fewer} drawn than recorded; {why}",
        **common,
    )


def _take_back_waste(register: Register, *, mg: Decimal, lines: list, why: str, common: dict) -> list[RegisterEntry]:
    """Less was wasted than recorded: correct the dose's waste entries in this LOCKED register, newest first."""
    taken_back: dict[int, Decimal] = {}
    for line in lines:
        if line.kind == EntryKind.CORRECTION and line.corrects_id is not None:
            taken_back[line.corrects_id] = taken_back.get(line.corrects_id, Decimal(0)) + line.waste_mg
    wastes = [line for line in lines if line.register_id == register.pk and line.kind == EntryKind.WASTE]
    entries = []
    for index, waste in enumerate(reversed(wastes)):
        last = index == len(wastes) - 1
        part = mg if last else min(mg, waste.waste_mg - taken_back.get(waste.pk, Decimal(0)))
        if part <= 0:
            continue
        entries.append(
            _append(
                register,
                kind=EntryKind.CORRECTION,
                quantity=Decimal(0),
                waste_mg=part,
                corrects=waste,
                reason=f"{rules._mg(part)} mg less wasted than recorded; {why}",
                **common,
            )
        )
        mg -= part
        if mg <= 0:
            break
    return entries
