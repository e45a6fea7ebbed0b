"""Controlled-drug register factories. Registers are rows; stock goes in through the receipt service."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from cd_register import services
from cd_register.models import CdDrug, Register, StockForm

from .clinics import PASSWORD, StaffFactory


class RegisterFactory(factory.django.DjangoModelFactory):
    """RegisterFactory(clinic=clinic, strength_mg=100): an empty diamorphine ampoule register."""

    class Meta:
        model = Register

    drug = CdDrug.DIAMORPHINE
    strength_mg = Decimal(100)
    form = StockForm.AMPOULE
    created_by = factory.SubFactory(StaffFactory, roles=["clinic_manager"])
    created_at = factory.LazyFunction(timezone.now)


def receive(register, quantity, *, made_by, witness, now=None):
    """Stock `register` with `quantity` through the real receipt service (witness password: PASSWORD)."""
    return services.record_receipt(
        register=register,
        quantity=quantity,
        supplier_name="Tees Hospital Pharmacy",
        supplier_address="Marton Road, Middlesbrough TS4 3BW",
        batch="B123",
        expires_on=datetime.date(2030, 1, 31),
        made_by=made_by,
        witness=witness,
        witness_password=PASSWORD,
        now=now,
    )


# What a stocked clinic cupboard holds, as (drug, strength mg, form).
CUPBOARD = [
    (CdDrug.DIAMORPHINE, 10, StockForm.AMPOULE),
    (CdDrug.DIAMORPHINE, 30, StockForm.AMPOULE),
    (CdDrug.DIAMORPHINE, 100, StockForm.AMPOULE),
    (CdDrug.HYDROMORPHONE, 10, StockForm.AMPOULE),
    (CdDrug.HYDROMORPHONE, 50, StockForm.AMPOULE),
    (CdDrug.METHADONE_ORAL, 1, StockForm.ORAL_SOLUTION),
]


def stock_cupboard(clinic, *, quantity: int = 2000, now=None) -> list[Register]:
    """Open a register for each product of CUPBOARD at `clinic` and receive `quantity` of each.

    Dosing writes register entries with every dose (no stock, no dose), so tests that dose
    stock the cupboard first. `now` must not be after the first dose of the test.
    """
    manager = StaffFactory(roles=["clinic_manager"], clinics=[clinic])
    witness = StaffFactory(roles=["nurse"], clinics=[clinic])
    registers = []
    for drug, strength, form in CUPBOARD:
        register = RegisterFactory(clinic=clinic, drug=drug, strength_mg=Decimal(strength), form=form)
        receive(register, quantity, made_by=manager, witness=witness, now=now)
        registers.append(register)
    return registers
