"""The register lines of a dose: what to draw (the least-waste proposal, or the nurse's own
choice), the draw and the waste of the part-used ampoule, and their correction when the dose
record is corrected (S10).

Dosing calls `draw_for_administration` and `correct_draw_for_administration` inside its own
transaction, after verifying the witness: a refusal here rolls the dose (or its correction) back.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinics.models import Clinic
from hat_clinic.precompiled import STAND_IN_ID, STAND_IN_TEXT, Precompiled
from patients.models import Patient

from .. import rules, selectors
from ..models import EntryKind, Register, RegisterEntry, StockForm
from ._common import _append, _append_all, _line, _not_enough, _text


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


def _registers_locked(*, clinic_id, drug):
    return Register.objects.filter(clinic_id=clinic_id, drug=drug).order_by("pk").select_for_update()


# Locked by every dose: precompiled (the ORM took longer to write the statement than PostgreSQL to run it).
_REGISTERS_LOCKED = Precompiled(_registers_locked, clinic_id=STAND_IN_ID, drug=STAND_IN_TEXT)


def _registers_of(clinic: Clinic, drug: str, *, lock: bool) -> list[Register]:
    if lock:
        registers = _REGISTERS_LOCKED.all(clinic_id=clinic.pk, drug=drug)
        for register in registers:
            register.clinic = clinic  # the row just read with them, as select_related would
        return registers
    return list(Register.objects.filter(clinic=clinic, drug=drug).select_related("clinic").order_by("pk"))


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
        raise ValidationError({"witness": "S9 · Witness: must be another member of staff, not the person recording."})
    if patient.clinic_id != clinic.pk:
        raise ValidationError({"patient": "Patient: not a patient of this clinic."})
    # No savepoint of its own: a refusal here must end the caller's whole transaction (the dose with it), and
    # a savepoint costs two round trips on every dose. Called alone it is its own transaction.
    with transaction.atomic(savepoint=False):
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
        lines = []
        for register, count in sorted(proposal.picks, key=lambda pick: pick[0].pk):
            if register.balance < count:
                raise ValidationError({"ampoules": _not_enough(register, needed=count)})
            lines.append(
                _line(
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
            lines.append(
                _line(
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
        entries = _append_all(lines)
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
        raise ValidationError({"witness": "S9 · Witness: must be another member of staff, not the person recording."})
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
