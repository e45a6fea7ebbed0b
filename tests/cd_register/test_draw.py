"""Ampoules for a dose: the least-waste proposal, the draw in the caller's transaction, never negative."""

import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cd_register import rules, services
from cd_register.models import EntryKind, RegisterEntry

pytestmark = pytest.mark.django_db
X = "\N{MULTIPLICATION SIGN}"
D = Decimal


def picks(proposal):
    return sorted(((int(register.strength_mg), int(count)) for register, count in proposal.picks), reverse=True)


@pytest.mark.parametrize(
    ("dose", "stock", "expected"),
    [
        (180, {100: 5, 30: 5, 10: 5}, [(100, 1), (30, 2), (10, 2)]),  # exact, fewest ampoules
        (180, {100: 5}, [(100, 2)]),  # 20 mg waste
        (30, {100: 5, 30: 5, 10: 5}, [(30, 1)]),
        (30, {100: 5, 10: 2}, [(100, 1)]),  # 10+10 is not enough: 70 mg waste
        (60, {30: 1, 10: 6}, [(30, 1), (10, 3)]),  # stock-limited exact fit
        (200, {100: 1, 250: 1}, [(250, 1)]),  # 50 mg waste beats nothing
        (500, {500: 1, 250: 2, 100: 5}, [(500, 1)]),
        (60, {50: 1, 30: 2, 10: 1}, [(50, 1), (10, 1)]),  # 50+10 and 30+30 tie: the larger strength
    ],
)
def test_choose_ampoules_least_waste_then_fewest(dose, stock, expected):
    chosen = rules.choose_ampoules(dose_mg=D(dose), stock=[(s, D(s), n) for s, n in stock.items()])
    assert sorted(((int(p.strength_mg), p.count) for p in chosen), reverse=True) == expected


def _best_by_trying_every_choice(dose: Decimal, stock: list[tuple[int, Decimal, int]]):
    """Every count of every register, ranked as the rule says: least waste, fewest ampoules, larger strengths."""
    best = None
    for counts in itertools.product(*(range(n + 1) for _, _, n in stock)):
        given = sum(s * c for (_, s, _), c in zip(stock, counts, strict=True))
        if given < dose:
            continue
        larger_first = [c for (_, s, _), c in sorted(zip(stock, counts, strict=True), key=lambda x: -x[0][1])]
        rank = (given - dose, sum(counts), [-c for c in larger_first])
        if best is None or rank < best[0]:
            best = (rank, {r: c for (r, _, _), c in zip(stock, counts, strict=True) if c})
    return None if best is None else best[1]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    dose=st.sampled_from([D(x) / 2 for x in range(1, 801, 3)]),
    stock=st.lists(
        st.tuples(st.sampled_from([D(10), D("12.5"), D(20), D(30), D(50), D(100), D(250)]), st.integers(0, 4)),
        max_size=4,
        unique_by=lambda x: x[0],
    ),
)
def test_choose_ampoules_agrees_with_trying_every_choice(dose, stock):
    registers = [(index + 1, strength, count) for index, (strength, count) in enumerate(stock)]
    chosen = rules.choose_ampoules(dose_mg=dose, stock=registers)
    expected = _best_by_trying_every_choice(dose, registers)
    assert (None if chosen is None else {p.register_id: p.count for p in chosen}) == expected


def test_choose_ampoules_none_when_stock_cannot_cover_the_dose():
    assert rules.choose_ampoules(dose_mg=D(250), stock=[(1, D(100), 2)]) is None
    assert rules.choose_ampoules(dose_mg=D(100), stock=[]) is None


def test_proposal_from_the_clinics_stock(register100, register30, register10, stock):
    stock(register100, 5)
    stock(register30, 5)
    stock(register10, 5)
    proposal = services.propose_ampoules(clinic=register100.clinic, drug="diamorphine_inj", dose_mg=180)
    assert picks(proposal) == [(100, 1), (30, 2), (10, 2)]
    assert (proposal.total_mg, proposal.waste_mg, proposal.waste_register) == (180, 0, None)
    assert proposal.describe() == f"1 {X} 100 mg + 2 {X} 30 mg + 2 {X} 10 mg (180 mg, no waste)"


def test_proposal_with_only_100mg_ampoules_wastes_20mg(register100, stock):
    stock(register100, 5)
    proposal = services.propose_ampoules(clinic=register100.clinic, drug="diamorphine", dose_mg=180)
    assert picks(proposal) == [(100, 2)]
    assert (proposal.waste_mg, proposal.waste_register) == (20, register100)
    assert proposal.describe() == f"2 {X} 100 mg (200 mg, 20 mg waste)"


def test_proposal_without_stock_says_what_to_do(register100, clinic):
    proposal = services.propose_ampoules(clinic=clinic, drug="diamorphine", dose_mg=100)
    assert not proposal.is_possible
    assert proposal.problem == (
        "Not enough diamorphine in stock for a 100 mg dose (none in stock): record the receipt first."
    )


def test_proposal_does_not_use_another_clinics_stock(register100, stock, other_clinic):
    stock(register100, 5)
    assert not services.propose_ampoules(clinic=other_clinic, drug="diamorphine", dose_mg=100).is_possible


def draw(register, patient, nurse, witness, **kwargs):
    fields = {
        "clinic": register.clinic,
        "drug": "diamorphine_inj",
        "dose_mg": 180,
        "patient": patient,
        "administration_ref": 41,
        "made_by": nurse,
        "witness": witness,
    }
    with transaction.atomic():  # the caller's transaction, as the dose's (a refusal rolls it back)
        return services.draw_for_administration(**{**fields, **kwargs})


def test_draw_records_ampoules_and_waste_with_the_administration_ref(register100, patient, nurse, second_nurse, stock):
    stock(register100, 5)
    entries = draw(register100, patient, nurse, second_nurse)
    assert [(e.kind, e.quantity, e.waste_mg, e.balance_after, e.sequence) for e in entries] == [
        (EntryKind.ADMINISTRATION, -2, 0, 3, 2),
        (EntryKind.WASTE, 0, 20, 3, 3),
    ]
    assert {(e.administration_ref, e.patient, e.made_by, e.witnessed_by) for e in entries} == {
        (41, patient, nurse, second_nurse)
    }
    register100.refresh_from_db()
    assert register100.balance == 3


def test_draw_follows_the_nurses_choice(register100, register30, patient, nurse, second_nurse, stock):
    stock(register100, 5)
    stock(register30, 5)
    entries = draw(register100, patient, nurse, second_nurse, dose_mg=150, ampoules=[(register30, 5)])
    assert [(e.register, e.kind, e.quantity, e.waste_mg) for e in entries] == [
        (register30, EntryKind.ADMINISTRATION, -5, 0)
    ]


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        (lambda r100, r30: [(r30, 2)], "is less than the 100 mg dose"),
        (lambda r100, r30: [(r100, 2)], "opens an ampoule the dose does not need"),
        (lambda r100, r30: [(r100, 0)], "more than 0"),
    ],
)
def test_draw_refuses_a_choice_that_does_not_fit(
    register100, register30, patient, nurse, second_nurse, stock, choice, message
):
    stock(register100, 5)
    stock(register30, 5)
    with pytest.raises(ValidationError, match=message):
        draw(register100, patient, nurse, second_nurse, dose_mg=100, ampoules=choice(register100, register30))
    assert RegisterEntry.objects.filter(kind=EntryKind.ADMINISTRATION).count() == 0


def test_draw_without_stock_is_refused_with_a_clear_message(
    register100, register30, patient, nurse, second_nurse, stock
):
    stock(register30, 5)
    with pytest.raises(ValidationError) as refused:
        draw(register100, patient, nurse, second_nurse, dose_mg=100, ampoules=[(register100, 1)])
    assert refused.value.message_dict["ampoules"] == [
        "No 100 mg diamorphine ampoules left in stock (balance 0): record the receipt first."
    ]


def test_failed_draw_inside_the_administration_transaction_leaves_no_entry(
    register100, register30, patient, nurse, second_nurse, stock
):
    """Done when 1: the first register's line is written, the second register is short: nothing stays."""
    stock(register100, 5)
    stock(register30, 1)
    with pytest.raises(ValidationError, match="Only 1 ampoule of 30 mg"), transaction.atomic():
        # Stands in for dosing's administration transaction.
        draw(register100, patient, nurse, second_nurse, dose_mg=160, ampoules=[(register100, 1), (register30, 2)])
    assert not RegisterEntry.objects.exclude(kind=EntryKind.RECEIPT).exists()
    register100.refresh_from_db()
    register30.refresh_from_db()
    assert (register100.balance, register100.last_sequence, register30.balance, register30.last_sequence) == (
        5,
        1,
        1,
        1,
    )


def test_draw_rolls_back_with_the_callers_transaction(register100, patient, nurse, second_nurse, stock):
    """When the dose itself fails after the draw, its register lines go with it."""
    stock(register100, 5)

    class DoseRefused(Exception):
        pass

    with pytest.raises(DoseRefused), transaction.atomic():
        draw(register100, patient, nurse, second_nurse)
        raise DoseRefused
    register100.refresh_from_db()
    assert (register100.balance, register100.entries.count()) == (5, 1)


def test_draw_refuses_the_nurse_as_own_witness(register100, patient, nurse, stock):
    stock(register100, 5)
    with pytest.raises(ValidationError) as refused:
        draw(register100, patient, nurse, nurse)
    assert "witness" in refused.value.message_dict


def test_oral_methadone_is_drawn_in_ml(clinic, manager, nurse, second_nurse, patient):
    from tests.factories import RegisterFactory, receive

    register = RegisterFactory(clinic=clinic, drug="methadone_oral", strength_mg=1, form="oral_solution_ml")
    receive(register, 500, made_by=manager, witness=nurse)
    entries = draw(register, patient, nurse, second_nurse, drug="methadone_oral", dose_mg=D("62.5"))
    assert [(e.kind, e.quantity, e.balance_after) for e in entries] == [
        (EntryKind.ADMINISTRATION, D("-62.5"), D("437.5"))
    ]
