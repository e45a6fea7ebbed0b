"""What every register movement shares: who may do what, the witness (S9), the per-register
lock and the append that keeps the running balance and the entry numbers.

Here because the entries recorded by hand, the stock checks and the dose draws all need them;
`verify_witness` and the capability sets are public (the pages and the API use them too).
"""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError

from clinics.access import may_act
from clinics.models import Clinic
from clinics.roles import Capability
from clinics.services import witness_secret_is_correct
from hat_clinic.precompiled import PrecompiledInsert, PrecompiledUpdate

from ..models import Register, RegisterEntry

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
        raise ValidationError({"witness": "S9 · Witness: every register entry needs a witness."})
    if witness.pk == made_by.pk:
        raise ValidationError({"witness": "S9 · Witness: must be another member of staff, not the person recording."})
    if not may_act(witness, *RECORDERS, clinic=clinic):
        raise ValidationError(
            {"witness": "S9 · Witness: must be an active nurse, prescriber or clinic manager of this clinic."}
        )
    if not witness_secret_is_correct(witness=witness, secret=witness_password):
        wrong = "S9 · Witness PIN or password: not correct (too many wrong tries lock it for a while)."
        raise ValidationError({"witness_password": wrong})


def _lock(register: Register) -> Register:
    """The per-register lock: every entry of this register waits here for the previous one to commit."""
    return Register.objects.select_for_update().get(pk=register.pk)


def _append(register: Register, *, kind: str, quantity: Decimal, now: datetime, **fields) -> RegisterEntry:
    """Append one entry to a LOCKED register: next number, new running balance, never below zero."""
    return _append_all([_line(register, kind=kind, quantity=quantity, now=now, **fields)])[0]


def _line(register: Register, *, kind: str, quantity: Decimal, now: datetime, **fields) -> tuple[Register, dict]:
    """One entry for `_append_all`: (its register, its fields)."""
    return register, {"kind": kind, "quantity": quantity, "entered_at": now, **fields}


# Written by every line (every dose): the INSERT and UPDATE written once, not by the ORM on every dose (issue 13).
_REGISTER_ENTRIES = PrecompiledInsert(RegisterEntry)
_REGISTER_BALANCE = PrecompiledUpdate(Register, "last_sequence", "balance")


def _append_all(lines: list[tuple[Register, dict]]) -> list[RegisterEntry]:
    """Append entries (from `_line`), in order, to LOCKED registers: next numbers, new running balances, never
    below zero; one statement for them all: the INSERT with an UPDATE per register (a dose writes its draw and its
    waste)."""
    entries, touched = [], {}
    for register, fields in lines:
        balance = register.balance + fields["quantity"]
        if balance < 0:
            raise ValidationError({"quantity": _not_enough(register, needed=-fields["quantity"])})
        register.last_sequence += 1
        register.balance = balance
        sequence = register.last_sequence
        entries.append(RegisterEntry(register=register, sequence=sequence, balance_after=balance, **fields))
        touched[register.pk] = register
    # The balances are written by the same statement as the lines (one round trip, the same transaction).
    _REGISTER_ENTRIES.create(entries, updating=[(_REGISTER_BALANCE, register) for register in touched.values()])
    return entries


def _not_enough(register: Register, *, needed: Decimal) -> str:
    product = f"{register.strength_label} {register.get_drug_display().lower()} {register.unit_plural}"
    if register.balance == 0:
        return f"No {product} left in stock (balance 0): record the receipt first."
    return (
        f"Only {register.units(register.balance)} of {product} in stock, {register.units(needed)} needed: "
        "record the receipt first."
    )


def _text(value: str | None) -> str:
    return (value or "").strip()
