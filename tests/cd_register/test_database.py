"""What PostgreSQL itself guarantees: append-only entries (S10) and exact balances under concurrent doses."""

import threading
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, connections, transaction

from cd_register import services
from cd_register.models import EntryKind, Register, RegisterEntry, StockCheck
from tests.factories import PatientFactory, StaffFactory
from tests.factories.clinics import PASSWORD


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE cd_register_registerentry SET quantity = 99 WHERE id = %s",
        "UPDATE cd_register_registerentry SET balance_after = 0 WHERE id = %s",
        "DELETE FROM cd_register_registerentry WHERE id = %s",
    ],
)
def test_the_database_refuses_to_change_or_delete_an_entry(register100, stock, statement):
    entry = stock(register100, 10)
    refused = pytest.raises(DatabaseError, match="never updated or deleted")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [entry.pk])
    entry.refresh_from_db()
    assert (entry.quantity, entry.balance_after) == (10, 10)


@pytest.mark.django_db
def test_the_database_refuses_to_change_a_stock_check(register100, stock, nurse, second_nurse):
    stock(register100, 2)
    check = services.run_stock_check(
        register=register100, counted=2, checked_by=nurse, witness=second_nurse, witness_password=PASSWORD
    )
    for statement in (
        "UPDATE cd_register_stockcheck SET counted = 5 WHERE id = %s",
        "DELETE FROM cd_register_stockcheck WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [check.pk])
    assert StockCheck.objects.get().counted == 2


@pytest.mark.django_db
def test_the_database_refuses_a_correction_pointing_into_another_register(
    register100, register30, stock, nurse, second_nurse
):
    other = stock(register30, 1)
    with pytest.raises(DatabaseError, match="same register"), transaction.atomic():
        RegisterEntry.objects.create(
            register=register100,
            sequence=1,
            kind=EntryKind.CORRECTION,
            quantity=0,
            balance_after=0,
            occurred_at=other.occurred_at,
            entered_at=other.entered_at,
            made_by=nurse,
            witnessed_by=second_nurse,
            corrects=other,
            reason="wrong register",
        )


@pytest.mark.django_db
def test_the_register_balance_itself_is_updatable(register100, stock):
    """The balance lives on the register row (locked per movement), not on the append-only entries."""
    stock(register100, 3)
    assert Register.objects.filter(pk=register100.pk).update(balance=Decimal(3)) == 1


DOSES = 8
STOCK = 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_doses_on_one_register_keep_the_balance_exact(clinic, register100, stock, nurse, second_nurse):
    """Done when 2: N administrations at once end with the exact balance and gap-free running balances."""
    stock(register100, STOCK)
    patients = [PatientFactory(clinic=clinic) for _ in range(DOSES)]
    nurses = [StaffFactory(roles=["nurse"], clinics=[clinic]) for _ in range(DOSES)]
    start = threading.Barrier(DOSES)
    errors = []

    def dose(index):
        try:
            start.wait()
            with transaction.atomic():  # each thread is one dosing transaction
                services.draw_for_administration(
                    clinic=clinic,
                    drug="diamorphine",
                    dose_mg=150,  # two 100 mg ampoules, 50 mg waste
                    patient=patients[index],
                    administration_ref=1000 + index,
                    made_by=nurses[index],
                    witness=second_nurse,
                )
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dose, args=(i,)) for i in range(DOSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    register100.refresh_from_db()
    assert register100.balance == STOCK - 2 * DOSES
    entries = list(register100.entries.order_by("sequence"))
    assert [e.sequence for e in entries] == list(range(1, 1 + 1 + 2 * DOSES))
    balance = Decimal(0)
    for entry in entries:
        balance += entry.quantity
        assert entry.balance_after == balance
    assert register100.last_sequence == len(entries)
    assert sorted(e.administration_ref for e in entries if e.kind == EntryKind.WASTE) == [
        1000 + i for i in range(DOSES)
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_doses_beyond_the_stock_are_refused_not_negative(clinic, register100, stock, second_nurse):
    stock(register100, 3)
    patients = [PatientFactory(clinic=clinic) for _ in range(5)]
    nurses = [StaffFactory(roles=["nurse"], clinics=[clinic]) for _ in range(5)]
    start = threading.Barrier(5)
    outcomes = []

    def dose(index):
        try:
            start.wait()
            with transaction.atomic():
                services.draw_for_administration(
                    clinic=clinic,
                    drug="diamorphine",
                    dose_mg=100,
                    patient=patients[index],
                    administration_ref=index + 1,
                    made_by=nurses[index],
                    witness=second_nurse,
                )
            outcomes.append("drawn")
        except Exception as error:
            outcomes.append(type(error).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dose, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ValidationError", "ValidationError", "drawn", "drawn", "drawn"]
    register100.refresh_from_db()
    assert register100.balance == 0
    assert [e.balance_after for e in register100.entries.order_by("sequence")] == [3, 2, 1, 0]
