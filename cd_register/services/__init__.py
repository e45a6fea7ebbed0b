"""Every write to the controlled-drug register (SPEC 5, S9, S10).

Each movement locks its register row (`select_for_update`) before it reads the balance, so
concurrent doses append one after another: the running balance stays exact and entry numbers
have no gaps. Several registers are always locked in id order, so two writers never wait on
each other in opposite orders. A balance never goes below zero; bad input is refused with a
ValidationError naming the field, before anything is written, and a refusal part-way through
rolls the whole movement back.

Dosing calls `draw_for_administration` inside its own administration transaction (this app
never imports dosing): the dose and its register lines commit or roll back together.

The writes are split by job; this package re-exports them, so callers keep
`from cd_register import services` and `services.record_receipt(...)`:
- `_common`: who may do what, the witness check, the register lock and the append;
- `entries`: registers, and receipts, waste, destruction, returns and corrections recorded by hand;
- `stock_checks`: stock checks and discrepancies;
- `dose_draws`: the ampoule proposal, and the register lines of a dose and of its correction.
"""

from ._common import MANAGERS, RECORDERS, _append, _lock, verify_witness
from .dose_draws import Proposal, correct_draw_for_administration, draw_for_administration, propose_ampoules
from .entries import (
    record_correction,
    record_destruction,
    record_receipt,
    record_return,
    record_waste,
    register_create,
)
from .stock_checks import close_discrepancy, run_stock_check

__all__ = [
    "MANAGERS",
    "RECORDERS",
    "Proposal",
    # The demo data writes past-dated register history through the same lock and append (cd_register/demo.py).
    "_append",
    "_lock",
    "close_discrepancy",
    "correct_draw_for_administration",
    "draw_for_administration",
    "propose_ampoules",
    "record_correction",
    "record_destruction",
    "record_receipt",
    "record_return",
    "record_waste",
    "register_create",
    "run_stock_check",
    "verify_witness",
]
