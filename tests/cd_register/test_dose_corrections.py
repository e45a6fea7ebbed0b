"""S10 + SPEC 5: a corrected dose puts the register right (correct_draw_for_administration).

Each test draws a dose as dosing does (`draw_for_administration`, administration record 41),
then corrects it as dosing's correction does (correcting record 42, later 43), and checks
every line written and every balance. The ampoules recorded stay as they were (S10).
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from cd_register import rules, services
from cd_register.models import EntryKind, RegisterEntry
from tests.factories import RegisterFactory, receive
from tests.factories.clinics import PASSWORD

pytestmark = pytest.mark.django_db
D = Decimal
ORIGINAL, CORRECTION, SECOND_CORRECTION = 41, 42, 43


@pytest.fixture
def cupboard(register100, register30, register10, stock):
    stock(register100, 5)
    stock(register30, 5)
    stock(register10, 5)
    return register100, register30, register10


def draw(clinic, patient, nurse, witness, dose_mg, **kwargs):
    return services.draw_for_administration(
        clinic=clinic, drug="diamorphine_inj", dose_mg=dose_mg, patient=patient, administration_ref=ORIGINAL,
        made_by=nurse, witness=witness, **kwargs,
    )  # fmt: skip


def correct(clinic, patient, nurse, witness, dose_mg, *, refs=(ORIGINAL,), ref=CORRECTION, **kwargs):
    return services.correct_draw_for_administration(
        clinic=clinic, drug="diamorphine_inj", dose_mg=dose_mg, patient=patient, corrected_refs=refs,
        administration_ref=ref, made_by=nurse, witness=witness, reason="Recorded the wrong amount", **kwargs,
    )  # fmt: skip


def lines(entries):
    return [(int(e.register.strength_mg), e.kind, e.quantity, e.waste_mg, e.balance_after) for e in entries]


def balances(*registers):
    for register in registers:
        register.refresh_from_db()
    return [register.balance for register in registers]


def test_less_given_than_recorded_wastes_the_difference(clinic, cupboard, patient, nurse, second_nurse):
    """Recorded 100 mg from a 100 mg ampoule, really 80 mg given: the 20 mg are waste."""
    register100, _, _ = cupboard
    draw(clinic, patient, nurse, second_nurse, 100, ampoules=[(register100, 1)])

    entries = correct(clinic, patient, second_nurse, nurse, 80)

    assert lines(entries) == [(100, EntryKind.WASTE, 0, 20, 4)]
    (waste,) = entries
    assert (waste.administration_ref, waste.patient, waste.made_by, waste.witnessed_by) == (
        CORRECTION, patient, second_nurse, nurse
    )  # fmt: skip
    assert "dose record corrected to 80 mg: Recorded the wrong amount" in waste.reason
    assert balances(register100) == [4]  # the ampoule drawn is still the one drawn


def test_more_given_than_recorded_corrects_the_waste_entry(clinic, cupboard, patient, nurse, second_nurse):
    """Recorded 95 mg (5 mg wasted), really 100 mg given: the waste entry is corrected, not edited."""
    register100, register30, register10 = cupboard
    (_, wasted) = draw(clinic, patient, nurse, second_nurse, 95, ampoules=[(register100, 1)])

    (entry,) = correct(clinic, patient, nurse, second_nurse, 100)

    assert (entry.kind, entry.corrects, entry.quantity, entry.waste_mg, entry.balance_after) == (
        EntryKind.CORRECTION, wasted, 0, 5, 4
    )  # fmt: skip
    wasted.refresh_from_db()
    assert wasted.waste_mg == 5  # the original line stays as it was (S10)
    assert rules.recorded_draw(list(RegisterEntry.objects.filter(register=register100).exclude(
        kind=EntryKind.RECEIPT))).wasted_mg == {}  # fmt: skip
    assert balances(register100, register30, register10) == [4, 5, 5]


def test_no_dose_given_wastes_every_ampoule_drawn(clinic, cupboard, patient, nurse, second_nurse):
    """Drawn up (1 x 100 mg + 1 x 30 mg for 130 mg) but not given: each register wastes its own ampoules."""
    register100, register30, _ = cupboard
    draw(clinic, patient, nurse, second_nurse, 130, ampoules=[(register100, 1), (register30, 1)])

    entries = correct(clinic, patient, nurse, second_nurse, 0)

    assert lines(entries) == [(100, EntryKind.WASTE, 0, 100, 4), (30, EntryKind.WASTE, 0, 30, 4)]
    assert balances(register100, register30) == [4, 4]


def test_the_ampoules_recorded_cannot_hold_a_larger_dose(clinic, cupboard, patient, nurse, second_nurse):
    register100, _, _ = cupboard
    draw(clinic, patient, nurse, second_nurse, 100, ampoules=[(register100, 1)])

    with pytest.raises(ValidationError) as refused:
        correct(clinic, patient, nurse, second_nurse, 130)

    assert refused.value.message_dict["ampoules"] == [
        f"Ampoules: the register shows 1 {rules.TIMES} 100 mg (100 mg) drawn for this dose, less than the "
        "130 mg really given; enter the ampoules really drawn."
    ]
    assert not RegisterEntry.objects.filter(administration_ref=CORRECTION).exists()


def test_nothing_drawn_gives_the_ampoules_back_to_the_balance(clinic, cupboard, patient, nurse, second_nurse):
    """Recorded on the wrong patient, no ampoule drawn for this one: the balance was 1 low, the waste goes too."""
    register100, _, _ = cupboard
    (drawn, wasted) = draw(clinic, patient, nurse, second_nurse, 90, ampoules=[(register100, 1)])
    assert balances(register100) == [4]

    entries = correct(clinic, patient, nurse, second_nurse, 0, ampoules=[])

    assert [(e.kind, e.corrects, e.quantity, e.waste_mg, e.balance_after) for e in entries] == [
        (EntryKind.CORRECTION, drawn, 1, 0, 5),
        (EntryKind.CORRECTION, wasted, 0, 10, 5),
    ]
    assert entries[0].reason.startswith("1 ampoule fewer drawn than recorded; dose record corrected to 0 mg")
    assert balances(register100) == [5]


def test_more_ampoules_drawn_correct_the_administration_entry_and_add_the_waste(
    clinic, cupboard, patient, nurse, second_nurse
):
    register100, _, _ = cupboard
    (drawn,) = draw(clinic, patient, nurse, second_nurse, 100, ampoules=[(register100, 1)])

    entries = correct(clinic, patient, nurse, second_nurse, 180, ampoules=[(register100, 2)])

    assert [(e.kind, e.corrects, e.quantity, e.waste_mg, e.balance_after) for e in entries] == [
        (EntryKind.CORRECTION, drawn, -1, 0, 3),
        (EntryKind.WASTE, None, 0, 20, 3),
    ]
    assert balances(register100) == [3]


def test_an_ampoule_of_a_strength_not_recorded_is_entered_as_drawn(clinic, cupboard, patient, nurse, second_nurse):
    """Recorded 1 x 100 mg; really 1 x 100 mg + 1 x 30 mg for 120 mg: the 30 mg register had no line to correct."""
    register100, register30, _ = cupboard
    draw(clinic, patient, nurse, second_nurse, 100, ampoules=[(register100, 1)])

    entries = correct(clinic, patient, nurse, second_nurse, 120, ampoules=[(register100, 1), (register30, 1)])

    assert lines(entries) == [(30, EntryKind.ADMINISTRATION, -1, 0, 4), (30, EntryKind.WASTE, 0, 10, 4)]
    assert {(e.patient, e.administration_ref) for e in entries} == {(patient, CORRECTION)}
    assert balances(register100, register30) == [4, 4]


def test_a_larger_draw_without_the_stock_is_refused_and_nothing_is_written(
    clinic, register100, register30, stock, patient, nurse, second_nurse
):
    stock(register100, 1)
    stock(register30, 1)
    draw(clinic, patient, nurse, second_nurse, 100, ampoules=[(register100, 1)])

    with pytest.raises(ValidationError) as refused, transaction.atomic():
        correct(clinic, patient, nurse, second_nurse, 190, ampoules=[(register100, 1), (register30, 3)])

    assert refused.value.message_dict["ampoules"] == [
        "Only 1 ampoule of 30 mg diamorphine ampoules in stock, 3 ampoules needed: record the receipt first."
    ]
    assert not RegisterEntry.objects.filter(administration_ref=CORRECTION).exists()
    assert balances(register100, register30) == [0, 1]


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        (lambda r100, other_drug, other_clinic: [(other_drug, 1)], "is not a diamorphine register here"),
        (lambda r100, other_drug, other_clinic: [(other_clinic, 1)], "is not a diamorphine register here"),
        (lambda r100, other_drug, other_clinic: [(r100, -1)], "Ampoules: enter 0 or more of each."),
        (lambda r100, other_drug, other_clinic: [(r100, D("0.5"))], "ampoules and vials are counted whole"),
        (lambda r100, other_drug, other_clinic: [], "Ampoules: no ampoules is less than the 100 mg dose really given"),
    ],
)
def test_a_choice_that_cannot_be_right_is_refused(
    clinic, other_clinic, cupboard, patient, nurse, second_nurse, choice, message
):
    register100, _, _ = cupboard
    other_drug = RegisterFactory(clinic=clinic, drug="hydromorphone_inj", strength_mg=D(50))
    elsewhere = RegisterFactory(clinic=other_clinic, strength_mg=D(100))
    draw(clinic, patient, nurse, second_nurse, 100, ampoules=[(register100, 1)])

    with pytest.raises(ValidationError) as refused:
        correct(clinic, patient, nurse, second_nurse, 100, ampoules=choice(register100, other_drug, elsewhere))

    assert message in refused.value.message_dict["ampoules"][0]
    assert not RegisterEntry.objects.filter(administration_ref=CORRECTION).exists()


def test_a_correction_of_a_correction_starts_from_what_the_register_shows_now(
    clinic, cupboard, patient, nurse, second_nurse
):
    """100 mg recorded; corrected to 80 mg (20 mg waste); that was wrong too: 100 mg after all."""
    register100, _, _ = cupboard
    draw(clinic, patient, nurse, second_nurse, 100, ampoules=[(register100, 1)])
    (waste,) = correct(clinic, patient, nurse, second_nurse, 80)

    (entry,) = correct(clinic, patient, nurse, second_nurse, 100, refs=(ORIGINAL, CORRECTION), ref=SECOND_CORRECTION)

    assert (entry.kind, entry.corrects, entry.quantity, entry.waste_mg) == (EntryKind.CORRECTION, waste, 0, 20)
    dose = list(RegisterEntry.objects.filter(administration_ref__in=[ORIGINAL, CORRECTION, SECOND_CORRECTION]))
    assert rules.recorded_draw(dose) == rules.DoseDraw(drawn={register100.pk: 1}, wasted_mg={})
    assert balances(register100) == [4]


def test_a_correction_already_made_by_hand_on_the_register_is_counted(clinic, cupboard, patient, nurse, second_nurse):
    """The register page's own correction (no dose reference) put the ampoule back: the dose correction knows."""
    register100, _, _ = cupboard
    (drawn,) = draw(clinic, patient, nurse, second_nurse, 100, ampoules=[(register100, 1)])
    register100.refresh_from_db()
    services.record_correction(
        register=register100, corrects=drawn, quantity=1, reason="Ampoule not used, back in the cupboard",
        made_by=nurse, witness=second_nurse, witness_password=PASSWORD,
    )  # fmt: skip

    assert correct(clinic, patient, nurse, second_nurse, 0, ampoules=[]) == []
    assert balances(register100) == [5]


def test_a_dose_never_written_to_the_register_is_left_alone_unless_ampoules_are_given(
    clinic, cupboard, patient, nurse, second_nurse
):
    """Doses recorded before the register was tied to them have no lines: nothing to put right by default."""
    register100, _, _ = cupboard

    assert correct(clinic, patient, nurse, second_nurse, 80) == []
    entries = correct(clinic, patient, nurse, second_nurse, 80, ampoules=[(register100, 1)])

    assert lines(entries) == [(100, EntryKind.ADMINISTRATION, -1, 0, 4), (100, EntryKind.WASTE, 0, 20, 4)]


def test_the_register_page_shows_a_waste_correction_with_its_reason(clinic, cupboard, patient, nurse, second_nurse):
    from cd_register.selectors import supplier_or_patient

    register100, _, _ = cupboard
    draw(clinic, patient, nurse, second_nurse, 95, ampoules=[(register100, 1)])
    (entry,) = correct(clinic, patient, nurse, second_nurse, 100)

    assert supplier_or_patient(entry) == (
        "Corrects entry 3: 5 mg less wasted than recorded; dose record corrected to 100 mg: Recorded the wrong amount"
    )


def test_the_nurse_cannot_witness_her_own_correction(clinic, cupboard, patient, nurse, second_nurse):
    register100, _, _ = cupboard
    draw(clinic, patient, nurse, second_nurse, 100, ampoules=[(register100, 1)])
    with pytest.raises(ValidationError) as refused:
        correct(clinic, patient, nurse, nurse, 80)
    assert "witness" in refused.value.message_dict


def test_receipts_into_other_registers_do_not_disturb_a_dose_correction(
    clinic, cupboard, patient, nurse, second_nurse, manager
):
    """Balances after the correction follow from every line in order: the running balance stays gap-free."""
    register100, _, _ = cupboard
    draw(clinic, patient, nurse, second_nurse, 100, ampoules=[(register100, 1)])
    receive(register100, 2, made_by=manager, witness=nurse)
    correct(clinic, patient, nurse, second_nurse, 0, ampoules=[])

    entries = list(RegisterEntry.objects.filter(register=register100).order_by("sequence"))
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
    running = D(0)
    for entry in entries:
        running += entry.quantity
        assert entry.balance_after == running
    assert balances(register100) == [7]


def test_oral_solution_follows_a_corrected_dose_in_ml(clinic, manager, nurse, second_nurse, patient):
    """Methadone: 60 ml recorded for 60 mg; really 50 ml measured and given. Never more precise than a line holds."""
    solution = RegisterFactory(clinic=clinic, drug="methadone_oral", strength_mg=1, form="oral_solution_ml")
    receive(solution, 500, made_by=manager, witness=nurse)
    services.draw_for_administration(
        clinic=clinic, drug="methadone_oral", dose_mg=60, patient=patient, administration_ref=ORIGINAL,
        made_by=nurse, witness=second_nurse,
    )  # fmt: skip

    def correct_methadone(**kwargs):
        return services.correct_draw_for_administration(
            clinic=clinic, drug="methadone_oral", dose_mg=50, patient=patient, corrected_refs=[ORIGINAL],
            administration_ref=CORRECTION, made_by=nurse, witness=second_nurse, reason="Measured 50 ml", **kwargs,
        )  # fmt: skip

    with pytest.raises(ValidationError, match="at most 2 decimal places"):
        correct_methadone(ampoules=[(solution, D("50.005"))])
    (entry,) = correct_methadone(ampoules=[(solution, D(50))])

    assert (entry.kind, entry.quantity, entry.balance_after) == (EntryKind.CORRECTION, 10, 450)
