"""Disclosure control (SPEC 7, issue 15): one rule, in one place, for the pages, the CSV and the API.

The rule English health statistics use, and the reason it survives differencing:
- a count from 1 to 7 is shown as "*"; 0 is 0; every other count is rounded to the nearest 5.
  Subtracting one answer from another (all my clinics minus one of them; the range ending today
  minus the range ending yesterday) then gives a difference of two rounded figures, each only known
  to within 2 either way, never a count from 1 to 7 exactly (tests/reports/test_differencing.py).
  The old rule (exact counts from 5 up, plus secondary suppression within one answer) could not
  stop that: each answer was safe alone, two answers together were not.
- a rate is worked out from the unrounded counts, and hidden when its numerator or denominator is
  hidden or when the complement is from 1 to 7; a mean over fewer than 8 people is hidden.

`present(statistics)` returns plain data (str, int, float, None) that the template, the CSV and
the API serializer all read: the rule is applied here once, never in a view.
"""

from collections import Counter
from decimal import Decimal

from dosing.models import Drug
from onward.models import OnwardOutcome
from partners.models import PartnerKind
from patients.models import DischargeReason
from referrals.models import ReferralSource

from .selectors import ONWARD_CANCELLED, ONWARD_OPEN, RETENTION_MONTHS, TOP_FLAGS, TOP_MEANS, Statistics

SUPPRESSED = "*"
SMALLEST_SHOWN = 8  # counts from 1 to 7 are never shown
ROUND_TO = 5
RULE = (
    "Counts from 1 to 7 are shown as *, every other count is rounded to the nearest 5 (0 stays 0). Rates are worked "
    "out from the unrounded figures and hidden when their numerator or denominator is hidden, or when they would "
    "reveal a hidden count; averages over fewer than 8 people are hidden. No patient is named."
)


def is_small(value) -> bool:
    return value is not None and 1 <= value < SMALLEST_SHOWN


def disclose(count: int):
    """A count as it may be shown: 0 is 0, 1 to 7 is '*', anything else to the nearest 5 (halves up)."""
    if count == 0:
        return 0
    if is_small(count):
        return SUPPRESSED
    return (count + ROUND_TO // 2) // ROUND_TO * ROUND_TO


def rate(numerator: int, denominator: int):
    """numerator / denominator (0 to 1, two decimals: whole per cent), '*', or None when the denominator is 0.

    Worked out from the unrounded counts. Hidden when either count is hidden, and when the complement
    (denominator - numerator) is from 1 to 7: 18 of 20 shown as 90% beside a rounded 20 would give
    away the 2 missed.
    """
    if denominator == 0:
        return None
    if is_small(numerator) or is_small(denominator) or is_small(denominator - numerator):
        return SUPPRESSED
    return round(numerator / denominator, 2)


class Cells:
    """The raw counts of one report by key; `show` is what may be shown of each (disclose())."""

    def __init__(self):
        self.values: dict = {}

    def add(self, key, value: int):
        self.values[key] = value
        return key

    def show(self, key):
        return disclose(self.values[key])

    def shown(self, key) -> bool:
        return not is_small(self.values[key])


def _rate(cells: Cells, numerator, denominator):
    return rate(cells.values[numerator], cells.values[denominator])


def _mean(total, count, *, people: int):
    if count == 0:
        return None
    if is_small(count) or is_small(people):
        return SUPPRESSED
    return round(float(Decimal(total) / count), 1)


DOSING_PARTS = ("given", "missed", "withheld", "refused", "pending")
DOSING_COUNTS = ("scheduled", *DOSING_PARTS, "cancelled", "adverse_events", "naloxone_uses")


def _dosing_values(figures) -> dict:
    return {
        "scheduled": figures.scheduled,
        "given": figures.doses_given,
        "missed": figures.missed,
        "withheld": figures.withheld,
        "refused": figures.refused,
        "pending": figures.open,
        "cancelled": figures.cancelled,
        "adverse_events": figures.adverse_events,
        "naloxone_uses": figures.naloxone_uses,
        "other_adverse_events": figures.adverse_events - figures.naloxone_uses,
    }


def present(stats: Statistics) -> dict:
    """The report as it may be shown: every count through disclose(), every rate through rate()."""
    cells = Cells()
    periods = [("p", i) for i in range(len(stats.periods))]
    clinic_rows = [("c", clinic.pk) for clinic, _ in stats.dosing_by_clinic]
    total = ("total",)

    # --- dosing ---
    dosing_rows = list(zip(periods, stats.dosing, strict=True))
    dosing_rows += list(zip(clinic_rows, [figures for _, figures in stats.dosing_by_clinic], strict=True))
    dosing_rows.append((total, stats.dosing_total))
    for row, figures in dosing_rows:
        values = _dosing_values(figures)
        for name, value in values.items():
            cells.add(("dosing", row, name), value)

    # --- patients ---
    reasons = list(DischargeReason.values)
    for row, figures in [*zip(periods, stats.patients, strict=True), (total, stats.patients_total)]:
        cells.add(("patients", row, "in_treatment"), figures.in_treatment)
        cells.add(("patients", row, "new_starts"), figures.new_starts)
        for reason in reasons:
            cells.add(("patients", row, reason), figures.discharges.get(reason, 0))
        cells.add(("patients", row, "discharges"), sum(figures.discharges.values()))

    # --- retention: a cohort is the period's new starts ---
    for row, cohort in zip(periods, stats.cohorts, strict=True):
        for months, retained in cohort.retained.items():
            if retained is None:
                continue
            cells.add(("retention", row, months), retained)

    # --- referrals ---
    if stats.referrals is not None:  # None when read without detail (selectors.DETAIL)
        sources = list(ReferralSource.values)
        for row, figures in [*zip(periods, stats.referrals, strict=True), (total, stats.referrals_total)]:
            for source in sources:
                cells.add(("referrals", row, source), figures.by_source.get(source, 0))
            cells.add(("referrals", row, "received"), figures.received)
            cells.add(("referrals", row, "started"), figures.started)

    # --- outcomes (TOP): n people; flags are counts of n ---
    if stats.outcomes is not None:  # None when read without detail (selectors.DETAIL)
        for row, figures in [*zip(periods, stats.outcomes, strict=True), (total, stats.outcomes_total)]:
            cells.add(("top", row, "n"), figures.n)
            for flag in TOP_FLAGS:
                for when, index in (("start", 0), ("latest", 1)):
                    count = figures.sums.get(flag, [0, 0])[index]
                    cells.add(("top", row, flag, when), count)

    # --- onward referrals: sent per period by partner kind; where the range's referrals stand, by kind ---
    if stats.onward is not None:  # None when read without detail (selectors.DETAIL)
        kinds = list(PartnerKind.values)
        places = [ONWARD_OPEN, ONWARD_CANCELLED, *OnwardOutcome.values]
        period_sent = [sum(counts.values()) for counts in stats.onward]
        for row, counts, sent in [*zip(periods, stats.onward, period_sent, strict=True)]:
            for kind in kinds:
                cells.add(("onward", row, kind), counts.get(kind, 0))
            cells.add(("onward", row, "all"), sent)
        for kind in [*kinds, "all"]:
            if kind == "all":
                figures = sum(stats.onward_by_kind.values(), Counter())
            else:
                figures = stats.onward_by_kind.get(kind, Counter())
            cells.add(("onward", total, kind), figures.get("sent", 0))
            for place in places:
                cells.add(("onward_place", kind, place), figures.get(place, 0))

    return _render(stats, cells, periods, clinic_rows, total)


def _dosing_out(cells, row, figures, people) -> dict:
    out = {name: cells.show(("dosing", row, name)) for name in DOSING_COUNTS}
    out["attendance_rate"] = _rate(cells, ("dosing", row, "given"), ("dosing", row, "scheduled"))
    if people is None:
        return out
    out["mean_daily_dose_mg"] = {
        drug: _mean(mg, patient_days, people=people) for drug, (mg, patient_days) in sorted(figures.doses.items())
    }
    return out


def _period_out(period) -> dict:
    return {"label": period.label, "start": period.start.isoformat(), "end": period.end.isoformat()}


def _render(stats, cells, periods, clinic_rows, total) -> dict:
    reasons = list(DischargeReason.values)
    sources = list(ReferralSource.values)
    people = [figures.in_treatment for figures in stats.patients]
    out = {
        "filters": {
            "clinics": [{"id": clinic.pk, "name": clinic.name} for clinic in stats.clinics],
            "start": stats.start.isoformat(),
            "end": stats.end.isoformat(),
            "granularity": stats.granularity,
            "as_of": stats.as_of.isoformat(),
        },
        "labels": {
            "drugs": {drug: Drug(drug).label for drug in stats.drugs},
            "discharge_reasons": dict(DischargeReason.choices),
            "referral_sources": dict(ReferralSource.choices),
            "top_means": TOP_MEANS,
            "top_flags": TOP_FLAGS,
        },
        "suppression": RULE,
    }
    out["dosing"] = {
        "rows": [
            {"period": _period_out(period), **_dosing_out(cells, row, figures, people[i])}
            for i, (row, period, figures) in enumerate(zip(periods, stats.periods, stats.dosing, strict=True))
        ],
        "total": _dosing_out(cells, total, stats.dosing_total, stats.patients_total.in_treatment),
        "by_clinic": [
            {"clinic": {"id": clinic.pk, "name": clinic.name}, **_dosing_out(cells, row, figures, None)}
            for row, (clinic, figures) in zip(clinic_rows, stats.dosing_by_clinic, strict=True)
        ],
    }

    def patients_out(row):
        return {
            "in_treatment": cells.show(("patients", row, "in_treatment")),
            "new_starts": cells.show(("patients", row, "new_starts")),
            "discharges": cells.show(("patients", row, "discharges")),
            "discharges_by_reason": {reason: cells.show(("patients", row, reason)) for reason in reasons},
        }

    out["patients"] = {
        "rows": [
            {"period": _period_out(period), **patients_out(row)}
            for row, period in zip(periods, stats.periods, strict=True)
        ],
        "total": patients_out(total),
    }

    retention_rows = []
    for row, cohort in zip(periods, stats.cohorts, strict=True):
        entry = {"cohort": _period_out(cohort.period), "started": cells.show(("patients", row, "new_starts"))}
        for months in RETENTION_MONTHS:
            if cohort.retained[months] is None:
                entry[f"retained_{months}m"] = None
                entry[f"retention_rate_{months}m"] = None
            else:
                entry[f"retained_{months}m"] = cells.show(("retention", row, months))
                entry[f"retention_rate_{months}m"] = _rate(
                    cells, ("retention", row, months), ("patients", row, "new_starts")
                )
        retention_rows.append(entry)
    out["retention"] = {"months": list(RETENTION_MONTHS), "rows": retention_rows}

    def referrals_out(row):
        return {
            "by_source": {source: cells.show(("referrals", row, source)) for source in sources},
            "received": cells.show(("referrals", row, "received")),
            "started": cells.show(("referrals", row, "started")),
            "conversion_rate": _rate(cells, ("referrals", row, "started"), ("referrals", row, "received")),
        }

    if stats.referrals is not None:
        out["referrals"] = {
            "rows": [
                {"period": _period_out(period), **referrals_out(row)}
                for row, period in zip(periods, stats.periods, strict=True)
            ],
            "total": referrals_out(total),
        }

    def top_out(row, figures):
        n = figures.n
        result = {"people": cells.show(("top", row, "n")), "means": {}, "flags": {}}
        for measure in TOP_MEANS:
            start_total, latest_total = figures.sums.get(measure, [0, 0])
            start, latest = _mean(start_total, n, people=n), _mean(latest_total, n, people=n)
            change = None if n == 0 else (SUPPRESSED if SUPPRESSED in (start, latest) else round(latest - start, 1))
            result["means"][measure] = {"start": start, "latest": latest, "change": change}
        for flag in TOP_FLAGS:
            result["flags"][flag] = {
                when: {
                    "count": cells.show(("top", row, flag, when)),
                    "rate": _rate(cells, ("top", row, flag, when), ("top", row, "n")),
                }
                for when in ("start", "latest")
            }
        return result

    kinds = list(PartnerKind.values)
    places = [ONWARD_OPEN, ONWARD_CANCELLED, *OnwardOutcome.values]
    if stats.onward is not None:
        out["onward_referrals"] = {
            "rows": [
                {
                    "period": _period_out(period),
                    "sent": cells.show(("onward", row, "all")),
                    "by_partner_kind": {kind: cells.show(("onward", row, kind)) for kind in kinds},
                }
                for row, period in zip(periods, stats.periods, strict=True)
            ],
            "by_partner_kind": [
                {
                    "partner_kind": kind,
                    "sent": cells.show(("onward", total, kind)),
                    "where_now": {place: cells.show(("onward_place", kind, place)) for place in places},
                }
                for kind in [*kinds, "all"]
            ],
        }
    out["labels"]["partner_kinds"] = {**dict(PartnerKind.choices), "all": "All partners"}
    out["labels"]["onward_places"] = {
        ONWARD_OPEN: "Still open",
        ONWARD_CANCELLED: "Cancelled",
        **{value: f"Closed: {label.lower()}" for value, label in OnwardOutcome.choices},
    }
    if stats.outcomes is not None:
        out["outcomes"] = {
            "rows": [
                {"period": _period_out(period), **top_out(row, figures)}
                for row, period, figures in zip(periods, stats.periods, stats.outcomes, strict=True)
            ],
            "total": top_out(total, stats.outcomes_total),
        }
    return out
