"""Register movements: running balances, gap-free numbers, never negative, bad input refused whole."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from cd_register import services
from cd_register.models import Discrepancy, DiscrepancyStatus, EntryKind, Register, RegisterEntry, StockCheck
from tests.factories import RegisterFactory
from tests.factories.clinics import PASSWORD

pytestmark = pytest.mark.django_db
WITNESS = {"witness_password": PASSWORD}


def receipt_fields(**overrides):
    fields = {
        "quantity": 10,
        "supplier_name": "Tees Hospital Pharmacy",
        "supplier_address": "Marton Road, Middlesbrough",
        "batch": "B1",
        "expires_on": datetime.date(2030, 1, 1),
    }
    return {**fields, **overrides}


def test_entries_carry_running_balance_and_gap_free_numbers(register100, manager, nurse, second_nurse, stock):
    stock(register100, 10)
    services.record_waste(
        register=register100, waste_mg=100, whole_units=1, made_by=nurse, witness=second_nurse, **WITNESS
    )
    services.record_return(register=register100, quantity=2, made_by=manager, witness=nurse, **WITNESS)
    services.record_destruction(
        register=register100,
        quantity=1,
        authorised_witness_name="Dr A Inspector",
        made_by=manager,
        witness=nurse,
        **WITNESS,
    )
    stock(register100, 5)

    entries = list(register100.entries.order_by("sequence"))
    assert [e.sequence for e in entries] == [1, 2, 3, 4, 5]
    assert [e.quantity for e in entries] == [10, -1, -2, -1, 5]
    assert [e.balance_after for e in entries] == [10, 9, 7, 6, 11]
    register100.refresh_from_db()
    assert register100.balance == 11
    assert register100.last_sequence == 5


def test_waste_of_part_used_ampoule_leaves_the_balance(register100, nurse, second_nurse, stock):
    stock(register100, 3)
    entry = services.record_waste(register=register100, waste_mg=20, made_by=nurse, witness=second_nurse, **WITNESS)
    assert (entry.kind, entry.quantity, entry.waste_mg, entry.balance_after) == (EntryKind.WASTE, 0, 20, 3)


def test_waste_of_more_than_an_ampoule_holds_is_refused(register30, nurse, second_nurse, stock):
    stock(register30, 3)
    with pytest.raises(ValidationError) as refused:
        services.record_waste(register=register30, waste_mg=40, made_by=nurse, witness=second_nurse, **WITNESS)
    assert "waste_mg" in refused.value.message_dict


def test_a_balance_never_goes_below_zero(register100, manager, nurse, second_nurse, stock):
    stock(register100, 1)
    with pytest.raises(ValidationError) as refused:
        services.record_return(register=register100, quantity=2, made_by=manager, witness=nurse, **WITNESS)
    assert refused.value.message_dict["quantity"] == [
        "Only 1 ampoule of 100 mg diamorphine ampoules in stock, 2 ampoules needed: record the receipt first."
    ]
    with pytest.raises(ValidationError, match="No 30 mg diamorphine ampoules left in stock"):
        empty = RegisterFactory(clinic=register100.clinic, strength_mg=30)
        services.record_waste(
            register=empty, waste_mg=30, whole_units=1, made_by=nurse, witness=second_nurse, **WITNESS
        )
    register100.refresh_from_db()
    assert (register100.balance, register100.last_sequence, register100.entries.count()) == (1, 1, 1)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -3}, "quantity"),
        ({"quantity": Decimal("1.5")}, "quantity"),
        ({"supplier_name": "  "}, "supplier_name"),
        ({"supplier_address": ""}, "supplier_address"),
        ({"batch": ""}, "batch"),
        ({"expires_on": None}, "expires_on"),
        ({"expires_on": datetime.date(2020, 1, 1)}, "expires_on"),
    ],
)
def test_bad_receipts_are_refused_naming_the_field(register100, manager, nurse, overrides, field):
    with pytest.raises(ValidationError) as refused:
        services.record_receipt(
            register=register100, made_by=manager, witness=nurse, **WITNESS, **receipt_fields(**overrides)
        )
    assert field in refused.value.message_dict
    assert not RegisterEntry.objects.exists()


def test_witness_must_be_another_person_with_their_own_password(register100, manager, nurse, keyworker, other_nurse):
    cases = [
        ({"witness": manager, "witness_password": PASSWORD}, "witness"),
        ({"witness": nurse, "witness_password": "wrong"}, "witness_password"),
        ({"witness": nurse, "witness_password": ""}, "witness_password"),
        ({"witness": keyworker, "witness_password": PASSWORD}, "witness"),  # no dosing or stock role
        ({"witness": other_nurse, "witness_password": PASSWORD}, "witness"),  # another clinic
        ({"witness": None, "witness_password": PASSWORD}, "witness"),
    ]
    for witnessing, field in cases:
        with pytest.raises(ValidationError) as refused:
            services.record_receipt(register=register100, made_by=manager, **witnessing, **receipt_fields())
        assert field in refused.value.message_dict, witnessing
    assert not RegisterEntry.objects.exists()


def test_receipts_are_for_managers_and_waste_for_clinical_staff(register100, nurse, manager, commissioner, other_nurse):
    with pytest.raises(PermissionDenied):
        services.record_receipt(register=register100, made_by=nurse, witness=manager, **WITNESS, **receipt_fields())
    for outsider in (commissioner, other_nurse):
        with pytest.raises(PermissionDenied):
            services.record_waste(register=register100, waste_mg=5, made_by=outsider, witness=nurse, **WITNESS)


def test_register_create_refuses_unknown_strength_and_duplicates(clinic, manager, nurse):
    with pytest.raises(ValidationError) as refused:
        services.register_create(clinic=clinic, drug="diamorphine", strength_mg=40, form="ampoule", created_by=manager)
    assert "strength_mg" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.register_create(
            clinic=clinic, drug="diamorphine", strength_mg=100, form="oral_solution_ml", created_by=manager
        )
    assert "form" in refused.value.message_dict
    register = services.register_create(
        clinic=clinic, drug="diamorphine", strength_mg=100, form="ampoule", created_by=manager
    )
    assert (register.drug, register.balance, str(register)) == ("diamorphine_inj", 0, "Diamorphine 100 mg ampoules")
    with pytest.raises(ValidationError, match="already has a register"):
        services.register_create(
            clinic=clinic, drug="diamorphine_inj", strength_mg=100, form="ampoule", created_by=manager
        )
    with pytest.raises(PermissionDenied):
        services.register_create(clinic=clinic, drug="diamorphine", strength_mg=30, form="ampoule", created_by=nurse)
    assert Register.objects.count() == 1


def test_entries_are_made_the_same_day(register100, manager, nurse):
    with time_machine.travel("2026-03-02 09:00:00+00:00", tick=False):
        now = datetime.datetime.now(tz=datetime.UTC)
        for when in (now - datetime.timedelta(days=1), now + datetime.timedelta(minutes=5)):
            with pytest.raises(ValidationError) as refused:
                services.record_receipt(
                    register=register100,
                    made_by=manager,
                    witness=nurse,
                    occurred_at=when,
                    **WITNESS,
                    **receipt_fields(),
                )
            assert "occurred_at" in refused.value.message_dict
        earlier = services.record_receipt(
            register=register100,
            made_by=manager,
            witness=nurse,
            occurred_at=now - datetime.timedelta(hours=1),
            **WITNESS,
            **receipt_fields(),
        )
    assert earlier.occurred_at == now - datetime.timedelta(hours=1)
    assert earlier.entered_at == now


def test_correction_points_at_the_original_which_stays(register100, manager, nurse, second_nurse, stock):
    original = stock(register100, 10)
    correction = services.record_correction(
        register=register100,
        corrects=original,
        quantity=-2,
        reason="The pack held 8 ampoules, not 10.",
        made_by=nurse,
        witness=second_nurse,
        **WITNESS,
    )
    original.refresh_from_db()
    assert (original.quantity, original.balance_after) == (10, 10)
    assert (correction.kind, correction.corrects, correction.quantity, correction.balance_after) == (
        EntryKind.CORRECTION,
        original,
        -2,
        8,
    )
    assert correction.sequence == 2


def test_correction_rules(register100, register30, manager, nurse, second_nurse, stock):
    in_other_register = stock(register30, 5)
    original = stock(register100, 2)
    base = {"register": register100, "made_by": nurse, "witness": second_nurse, **WITNESS}
    cases = [
        ({"corrects": in_other_register, "quantity": -1, "reason": "x"}, "corrects"),
        ({"corrects": original, "quantity": -1, "reason": " "}, "reason"),
        ({"corrects": original, "quantity": Decimal("0.5"), "reason": "x"}, "quantity"),
        ({"corrects": original, "quantity": 0, "reason": "wrong batch"}, "notes"),  # says what is right
        ({"corrects": original, "quantity": -3, "reason": "x"}, "quantity"),  # below zero
    ]
    for fields, field in cases:
        with pytest.raises(ValidationError) as refused:
            services.record_correction(**base, **fields)
        assert field in refused.value.message_dict, fields
    detail = services.record_correction(
        **base, corrects=original, quantity=0, reason="Batch mistyped", notes="Batch is B124"
    )
    assert detail.balance_after == 2
    assert register100.entries.count() == 2


def test_stock_check_that_matches_opens_no_discrepancy(register100, nurse, second_nurse, stock):
    stock(register100, 4)
    check = services.run_stock_check(register=register100, counted=4, checked_by=nurse, witness=second_nurse, **WITNESS)
    assert (check.computed_balance, check.difference) == (4, 0)
    assert not Discrepancy.objects.exists()


def test_stock_check_difference_is_a_discrepancy_the_manager_closes(register100, nurse, second_nurse, manager, stock):
    stock(register100, 4)
    check = services.run_stock_check(register=register100, counted=3, checked_by=nurse, witness=second_nurse, **WITNESS)
    assert (check.computed_balance, check.difference) == (4, -1)
    discrepancy = check.discrepancy
    assert discrepancy.status == DiscrepancyStatus.OPEN

    with pytest.raises(PermissionDenied):
        services.close_discrepancy(discrepancy=discrepancy, investigation_note="Found it", closed_by=nurse)
    with pytest.raises(ValidationError) as refused:
        services.close_discrepancy(discrepancy=discrepancy, investigation_note=" ", closed_by=manager)
    assert "investigation_note" in refused.value.message_dict

    closed = services.close_discrepancy(
        discrepancy=discrepancy, investigation_note="Ampoule broken, waste not entered.", closed_by=manager
    )
    assert (closed.status, closed.closed_by) == (DiscrepancyStatus.CLOSED, manager)
    with pytest.raises(ValidationError, match="already closed"):
        services.close_discrepancy(discrepancy=discrepancy, investigation_note="Again", closed_by=manager)
    assert Discrepancy.objects.get().investigation_note == "Ampoule broken, waste not entered."
    # The register is not changed by a count: the manager records a correction if an entry was wrong.
    register100.refresh_from_db()
    assert register100.balance == 4


def test_stock_check_refuses_bad_counts(register100, nurse, second_nurse):
    for counted in (-1, Decimal("2.5"), None):
        with pytest.raises(ValidationError) as refused:
            services.run_stock_check(
                register=register100, counted=counted, checked_by=nurse, witness=second_nurse, **WITNESS
            )
        assert "counted" in refused.value.message_dict
    assert not StockCheck.objects.exists()


def test_witness_confirms_with_their_pin_and_guessing_locks_it(register100, nurse, second_nurse, stock, settings):
    from clinics.services import witness_pin_set

    stock(register100, 2)
    witness_pin_set(user=second_nurse, pin="482913")
    waste = {"register": register100, "waste_mg": 5, "made_by": nurse, "witness": second_nurse}
    assert services.record_waste(**waste, witness_password="482913").waste_mg == 5
    for _ in range(settings.WITNESS_PIN_MAX_FAILURES):
        with pytest.raises(ValidationError):
            services.record_waste(**waste, witness_password="000000")
    with pytest.raises(ValidationError) as refused:
        services.record_waste(**waste, witness_password="482913")
    assert "witness_password" in refused.value.message_dict
    assert register100.entries.count() == 2
