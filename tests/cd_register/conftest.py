from decimal import Decimal

import pytest

from tests.factories import PatientFactory, RegisterFactory, receive


@pytest.fixture
def register100(clinic, manager):
    return RegisterFactory(clinic=clinic, strength_mg=Decimal(100), created_by=manager)


@pytest.fixture
def register30(clinic, manager):
    return RegisterFactory(clinic=clinic, strength_mg=Decimal(30), created_by=manager)


@pytest.fixture
def register10(clinic, manager):
    return RegisterFactory(clinic=clinic, strength_mg=Decimal(10), created_by=manager)


@pytest.fixture
def stock(manager, nurse):
    """stock(register, n): receive n ampoules, recorded by the manager and witnessed by the nurse."""

    def receive_into(register, quantity):
        entry = receive(register, quantity, made_by=manager, witness=nurse)
        register.refresh_from_db()
        return entry

    return receive_into


@pytest.fixture
def patient(clinic):
    return PatientFactory(clinic=clinic)
