"""Demo registers with stock: diamorphine 10, 30, 100 and 500 mg ampoules at Middlesbrough. Idempotent.

The demo's passwords are random, so the opening receipts are appended directly under the
register lock (the same path the services use after the witness has confirmed).
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from . import services
from .models import CdDrug, EntryKind, Register, StockForm

STOCK = [(Decimal(10), 40), (Decimal(30), 60), (Decimal(100), 100), (Decimal(500), 20)]
SUPPLIER = ("Tees Hospital Pharmacy (demo)", "Pharmacy Department, Marton Road, Middlesbrough TS4 3BW")


def seed(*, clinics, staff, stdout):
    clinic, manager, witness = clinics["mbro"], staff["manager"], staff["nurse"]
    now = timezone.now()
    created = received = 0
    for strength, quantity in STOCK:
        with transaction.atomic():
            register, was_created = Register.objects.get_or_create(
                clinic=clinic,
                drug=CdDrug.DIAMORPHINE,
                strength_mg=strength,
                form=StockForm.AMPOULE,
                defaults={"created_by": manager, "created_at": now},
            )
            created += was_created
            locked = services._lock(register)
            if locked.last_sequence == 0:
                services._append(
                    locked,
                    kind=EntryKind.RECEIPT,
                    quantity=Decimal(quantity),
                    now=now,
                    occurred_at=now,
                    made_by=manager,
                    witnessed_by=witness,
                    supplier_name=SUPPLIER[0],
                    supplier_address=SUPPLIER[1],
                    batch=f"DEMO-{strength:.0f}-01",
                    expires_on=date(now.year + 2, 1, 31),
                    notes="Opening stock for the demo.",
                )
                received += 1
    stdout.write(f"CD registers: {created} created, {received} opening receipts recorded.")
