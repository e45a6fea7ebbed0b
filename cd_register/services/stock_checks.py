"""Stock checks: the cupboard counted against the balance; a difference opens a discrepancy that
the clinic manager investigates and closes.
"""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import Discrepancy, DiscrepancyStatus, Register, StockCheck
from ._common import MANAGERS, RECORDERS, _lock, _require, _text, verify_witness


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
