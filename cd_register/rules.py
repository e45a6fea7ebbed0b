"""Register rules, once: which products exist, and which ampoules to draw for a dose.

Pure functions over plain values (no queries), so the services, pages and API share them
and the tests can exercise the ampoule choice directly.
"""

from dataclasses import dataclass
from decimal import Decimal
from math import gcd

from django.core.exceptions import ValidationError

from .models import CdDrug, EntryKind, StockForm

# The products a HAT clinic stocks (SPEC 5). Strengths in mg per ampoule/vial, or mg per ml.
STRENGTHS: dict[str, frozenset[Decimal]] = {
    CdDrug.DIAMORPHINE: frozenset(Decimal(s) for s in (5, 10, 30, 100, 250, 500)),
    CdDrug.HYDROMORPHONE: frozenset(Decimal(s) for s in (2, 10, 20, 50, 100, 500)),
    CdDrug.METHADONE_ORAL: frozenset({Decimal(1)}),
}
FORMS: dict[str, frozenset[str]] = {
    CdDrug.DIAMORPHINE: frozenset({StockForm.AMPOULE}),
    CdDrug.HYDROMORPHONE: frozenset({StockForm.AMPOULE, StockForm.VIAL}),
    CdDrug.METHADONE_ORAL: frozenset({StockForm.ORAL_SOLUTION}),
}
# Callers may name a drug plainly ("diamorphine") or as dosing does ("diamorphine_inj").
ALIASES = {"diamorphine": CdDrug.DIAMORPHINE, "hydromorphone": CdDrug.HYDROMORPHONE, "methadone": CdDrug.METHADONE_ORAL}


def drug_of(value: str) -> CdDrug:
    value = ALIASES.get(value, value)
    if value not in CdDrug.values:
        raise ValidationError({"drug": f"Drug: {value!r} is not kept in a controlled-drug register here."})
    return CdDrug(value)


def _mg(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


TIMES = "\N{MULTIPLICATION SIGN}"


def picks_label(picks) -> str:
    """(register, count) pairs as a nurse reads them, largest first: '1 x 100 mg + 2 x 30 mg' (with a
    multiplication sign), or '62.5 ml' of a solution."""
    return " + ".join(
        register.units(count) if register.is_oral_solution else f"{_mg(count)} {TIMES} {register.strength_label}"
        for register, count in sorted(picks, key=lambda pick: (-pick[0].strength_mg, pick[0].pk))
    )


def check_product(*, drug: str, strength_mg: Decimal, form: str) -> None:
    errors = {}
    if form not in FORMS.get(drug, ()):
        allowed = ", ".join(StockForm(f).label.lower() for f in sorted(FORMS.get(drug, ())))
        errors["form"] = f"Form: {CdDrug(drug).label} comes as {allowed}."
    if strength_mg is None or Decimal(strength_mg) not in STRENGTHS.get(drug, ()):
        allowed = ", ".join(_mg(s) for s in sorted(STRENGTHS.get(drug, ())))
        unit = "mg/ml" if drug == CdDrug.METHADONE_ORAL else "mg"
        errors["strength_mg"] = (
            f"Strength: {CdDrug(drug).label} is not supplied as {_mg(strength_mg or 0)} {unit}; "
            f"known strengths are {allowed} {unit}."
        )
    if errors:
        raise ValidationError(errors)


def check_quantity(quantity, *, whole: bool, field: str = "quantity") -> Decimal:
    """A movement is more than zero; ampoules and vials come whole."""
    if quantity is None:
        raise ValidationError({field: "Quantity: enter how many."})
    quantity = Decimal(quantity)
    if quantity <= 0:
        raise ValidationError({field: "Quantity: must be more than 0."})
    if whole and quantity != quantity.to_integral_value():
        raise ValidationError({field: "Quantity: ampoules and vials are counted whole."})
    return quantity


# --- Choosing ampoules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    """Draw `count` units from the register with this id and strength."""

    register_id: int
    strength_mg: Decimal
    count: int


def choose_ampoules(*, dose_mg: Decimal, stock: list[tuple[int, Decimal, int]]) -> list[Pick] | None:
    """The ampoules to draw for `dose_mg` with the least waste, then the fewest ampoules.

    `stock` is (register_id, strength_mg, ampoules in stock) per register. Returns None when
    the stock cannot cover the dose. A bounded knapsack over totals from the dose up to the
    dose plus the largest strength (a choice wasting a whole ampoule is never the best),
    in units of the greatest common divisor so that 2.5 mg steps stay cheap.
    Remaining ties prefer larger ampoules (fewer to open and check).
    """
    dose_mg = Decimal(dose_mg)
    stock = sorted(((r, Decimal(s), int(n)) for r, s, n in stock if n > 0 and s > 0), key=lambda x: (-x[1], x[0]))
    if dose_mg <= 0 or not stock or sum(s * n for _, s, n in stock) < dose_mg:
        return None
    # Integer units: hundredths of a mg, divided by the common divisor of all amounts.
    cents = [int(s * 100) for _, s, _ in stock]
    dose = int(dose_mg * 100)
    step = 0
    for value in (*cents, dose):
        step = gcd(step, value)
    cents = [c // step for c in cents]
    dose //= step
    limit = dose + max(cents) - 1
    # best[t]: the best way found to reach exactly t units, as (ampoules, counts per register negated): the
    # least tuple is the best, fewer ampoules first, then more of the larger strengths (stock is sorted largest
    # first), so one comparison of tuples ranks two choices.
    best: list[tuple[int, tuple[int, ...]] | None] = [None] * (limit + 1)
    best[0] = (0, (0,) * len(stock))
    for index, ((_, _, available), size) in enumerate(zip(stock, cents, strict=True)):
        usable = min(available, (limit // size) if size else 0)
        chunk = 1
        while usable > 0:  # binary splitting: 1, 2, 4, ... copies as one item each
            take = min(chunk, usable)
            usable -= take
            chunk *= 2
            weight = take * size
            for total in range(limit, weight - 1, -1):
                before = best[total - weight]
                if before is None:
                    continue
                ampoules, negated = before
                candidate = (ampoules + take, (*negated[:index], negated[index] - take, *negated[index + 1 :]))
                current = best[total]
                if current is None or candidate < current:
                    best[total] = candidate
    for total in range(dose, limit + 1):
        if best[total] is not None:
            return [
                Pick(register_id=r, strength_mg=s, count=-negated)
                for (r, s, _), negated in zip(stock, best[total][1], strict=True)
                if negated
            ]
    return None


# --- What the register shows for one dose --------------------------------------------------------


@dataclass(frozen=True)
class DoseDraw:
    """What the register records for one dose, per register id: units drawn and mg wasted."""

    drawn: dict[int, Decimal]
    wasted_mg: dict[int, Decimal]


def recorded_draw(lines) -> DoseDraw:
    """Add up a dose's register lines: its own entries and every correction pointing at them.

    Units drawn are what the lines took out of the balance; the waste is the waste entries'
    mg less what corrections of a waste entry took back (their `waste_mg`: mg not wasted after all).
    """
    kinds = {line.pk: line.kind for line in lines}
    drawn: dict[int, Decimal] = {}
    wasted: dict[int, Decimal] = {}
    for line in lines:
        drawn[line.register_id] = drawn.get(line.register_id, Decimal(0)) - line.quantity
        if line.kind == EntryKind.WASTE:
            wasted[line.register_id] = wasted.get(line.register_id, Decimal(0)) + line.waste_mg
        elif line.kind == EntryKind.CORRECTION and kinds.get(line.corrects_id) == EntryKind.WASTE:
            wasted[line.register_id] = wasted.get(line.register_id, Decimal(0)) - line.waste_mg
    return DoseDraw(
        drawn={pk: count for pk, count in drawn.items() if count},
        wasted_mg={pk: mg for pk, mg in wasted.items() if mg},
    )


def spread_waste(*, picks: list[tuple[int, Decimal, Decimal]], waste_mg: Decimal) -> dict[int, Decimal]:
    """The unused mg of a draw, per register id: on one register when one can hold it, else smallest first.

    `picks` is (register_id, strength_mg, count). As in a dose's own proposal the part-used
    ampoule is the smallest that can hold the waste (one register line is the easiest to check);
    a dose corrected far below the draw can leave more unused than any one register's ampoules,
    and then each register carries the waste of its own ampoules, the smallest first.
    """
    waste_mg = Decimal(waste_mg)
    if waste_mg <= 0:
        return {}
    smallest_first = sorted(picks, key=lambda pick: (pick[1], pick[0]))
    for register_id, strength_mg, count in smallest_first:
        if strength_mg * count >= waste_mg:
            return {register_id: waste_mg}
    spread: dict[int, Decimal] = {}
    left = waste_mg
    for register_id, strength_mg, count in smallest_first:
        part = min(left, strength_mg * count)
        if part > 0:
            spread[register_id] = part
            left -= part
    return spread
