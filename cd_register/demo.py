"""Demo registers with stock at Middlesbrough: diamorphine 10, 30, 100 and 500 mg ampoules and
hydromorphone 10 and 50 mg ampoules (the demo prescribes both). Idempotent.

The opening receipts are dated the day before the demo is loaded, so the demo doses (dosing/demo.py,
which runs after this) draw from them in time order. A service refuses a receipt dated another
day (SPEC 5: entries are made the same day), so they are appended directly under the register
lock: the same lock and append the services use after the witness has confirmed.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from . import services
from .models import CdDrug, EntryKind, Register, StockForm

# (drug, mg per ampoule, ampoules received)
STOCK = [
    (CdDrug.DIAMORPHINE, Decimal(10), 40),
    (CdDrug.DIAMORPHINE, Decimal(30), 60),
    (CdDrug.DIAMORPHINE, Decimal(100), 100),
    (CdDrug.DIAMORPHINE, Decimal(500), 20),
    (CdDrug.HYDROMORPHONE, Decimal(10), 40),
    (CdDrug.HYDROMORPHONE, Decimal(50), 40),
]
SUPPLIER = ("Tees Hospital Pharmacy (demo)", "Pharmacy Department, Marton Road, Middlesbrough TS4 3BW")


def seed(*, clinics, staff, stdout):
    clinic, manager, witness = clinics["mbro"], staff["manager"], staff["nurse"]
    now = timezone.now()
    delivered_at = now - timedelta(days=1)
    created = received = 0
    for drug, strength, quantity in STOCK:
        with transaction.atomic():
            register, was_created = Register.objects.get_or_create(
                clinic=clinic,
                drug=drug,
                strength_mg=strength,
                form=StockForm.AMPOULE,
                defaults={"created_by": manager, "created_at": delivered_at},
            )
            created += was_created
            locked = services._lock(register)
            if locked.last_sequence == 0:
                services._append(
                    locked,
                    kind=EntryKind.RECEIPT,
                    quantity=Decimal(quantity),
                    now=delivered_at,
                    occurred_at=delivered_at,
                    made_by=manager,
                    witnessed_by=witness,
                    supplier_name=SUPPLIER[0],
                    supplier_address=SUPPLIER[1],
                    batch=f"DEMO-{drug[:4].upper()}-{strength:.0f}-01",
                    expires_on=date(now.year + 2, 1, 31),
                    notes="Opening stock for the demo.",
                )
                received += 1
    stdout.write(f"CD registers: {created} created, {received} opening receipts recorded.")
