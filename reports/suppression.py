"""Small-number suppression (SPEC 7, NDTMS practice), in one place for the pages, the CSV and the API.

- Primary: a count from 1 to 4 shows as "*"; zero shows as 0.
- Secondary: a hidden count must not be derivable from the figures shown. The report is a set
  of additive relations (a total and its parts: scheduled = given + missed + withheld + refused
  + pending; a range total = the sum of its periods and of its clinics; discharges = the sum of
  the reasons; a cohort = retained + not retained; ...). Counts nobody sees (not retained, other
  adverse events) take part as unseen cells. Whenever the figures shown would pin down a count
  from 1 to 4, the smallest non-zero shown count of that relation is hidden too, until nothing
  small can be worked out.
- Rates, means and differences: hidden when a count they are made of is hidden, when a count
  they are made of is from 1 to 4, or when the complement (denominator minus numerator) is from
  1 to 4; means over fewer than 5 people are hidden.

`present(statistics)` returns plain data (str, int, float, None) that the template, the CSV and
the API serializer all read: suppression is applied here once, never in a view.
"""

from collections import Counter
from decimal import Decimal

from dosing.models import Drug
from partners.models import PartnerKind
from patients.models import DischargeReason
from referrals.models import OnwardOutcome, ReferralSource

from .selectors import ONWARD_CANCELLED, ONWARD_OPEN, RETENTION_MONTHS, TOP_FLAGS, TOP_MEANS, Statistics

SUPPRESSED = "*"
SMALLEST_SHOWN = 5


def is_small(value) -> bool:
    return value is not None and 1 <= value < SMALLEST_SHOWN


class Cells:
    """Counts of one report and the additive relations between them; decides which to hide."""

    def __init__(self):
        self.values: dict = {}
        self.unseen: set = set()
        self.groups: list[list] = []
        self.hidden: set = set()

    def add(self, key, value: int, *, unseen: bool = False):
        if key in self.values:
            assert self.values[key] == value, f"two values for {key}"  # noqa: S101 (a programming error)
        self.values[key] = value
        if unseen:
            self.unseen.add(key)
        return key

    def relation(self, total, parts) -> None:
        """total = sum(parts): each a key already added."""
        self.groups.append([total, *parts])

    def solve(self) -> None:
        """Hide counts until no count from 1 to 4 can be worked out from the shown ones (see the module doc).

        Works on cell numbers rather than keys (nested tuples, hashed anew at every lookup): a five-year
        weekly report has tens of thousands of lookups per pass.
        """
        keys = list(self.values)
        number = {key: n for n, key in enumerate(keys)}
        values = list(self.values.values())
        groups = [[number[key] for key in group] for group in self.groups]
        sensitive = {n for n, value in enumerate(values) if is_small(value)}
        hidden = sensitive | {number[key] for key in self.unseen}
        member_of = [[] for _ in keys]
        for index, group in enumerate(groups):
            for n in group:
                member_of[n].append(index)
        solver = _Solver(keys, values, groups, member_of, sensitive, hidden)
        # Fast passes hide a cover for every leak found; a pass that outran itself (a cover already hidden
        # was used further on) finds no cover: from then on each pass stops at its first leak.
        strict = False
        while True:
            covered, stuck = solver.one_pass(strict=strict)
            if stuck:
                strict = True
            elif not covered:
                break
        self.hidden = {keys[n] for n in hidden}

    def show(self, key):
        return SUPPRESSED if key in self.hidden else self.values[key]

    def shown(self, key) -> bool:
        return key not in self.hidden


class _Solver:
    """Cells.solve() on cell numbers: `groups` are the relations (total first); covers are added to `hidden`."""

    def __init__(self, keys, values, groups, member_of, sensitive, hidden):
        self.keys, self.values, self.groups, self.member_of = keys, values, groups, member_of
        self.sensitive, self.hidden = sensitive, hidden

    def one_pass(self, *, strict: bool) -> tuple[bool, bool]:
        """Propagate what the shown counts give away; hide a cover for each small count reached.

        Returns (hid something, found a leak without a cover).
        """
        hidden, groups, member_of = self.hidden, self.groups, self.member_of
        known = [n not in hidden for n in range(len(self.values))]
        unknown_count = [sum(1 for n in group if not known[n]) for group in groups]
        work = [index for index, count in enumerate(unknown_count) if count == 1]
        covered = False
        source: dict = {}
        while work:
            index = work.pop()
            if unknown_count[index] != 1:
                continue
            derived = next(n for n in groups[index] if not known[n])
            if derived in self.sensitive:
                cover = self._cover(index, derived, source, set())
                if cover is None:
                    return covered, True
                hidden.add(cover)
                covered = True
                if strict:
                    return True, False
                unknown_count[index] = 2  # stop deriving here in this pass; the next pass starts afresh
                continue
            known[derived] = True
            source[derived] = index
            for other in member_of[derived]:
                unknown_count[other] -= 1
                if unknown_count[other] == 1:
                    work.append(other)
        return covered, False

    def _cover(self, index, derived, source, seen):
        """The smallest shown count (non-zero first) of the relation that gave `derived` away, else upstream."""
        seen.add(index)
        group = self.groups[index]
        shown = [n for n in group if n != derived and n not in self.hidden]
        nonzero = [n for n in shown if self.values[n] != 0]
        if nonzero or shown:
            return min(nonzero or shown, key=lambda n: (self.values[n], str(self.keys[n])))
        for n in group:
            if n != derived and n in source and source[n] not in seen:
                found = self._cover(source[n], n, source, seen)
                if found is not None:
                    return found
        return None


def _rate(cells: Cells, numerator, denominator):
    """numerator / denominator as a fraction (0 to 1), or '*', or None when the denominator is 0."""
    n, d = cells.values[numerator], cells.values[denominator]
    if d == 0:
        return None
    if not (cells.shown(numerator) and cells.shown(denominator)) or is_small(n) or is_small(d) or is_small(d - n):
        return SUPPRESSED
    return round(n / d, 4)


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
    """The report as it may be shown: counts 1-4 and everything that would reveal them are '*'."""
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
            cells.add(("dosing", row, name), value, unseen=name == "other_adverse_events")
        cells.relation(("dosing", row, "scheduled"), [("dosing", row, name) for name in DOSING_PARTS])
        cells.relation(
            ("dosing", row, "adverse_events"),
            [("dosing", row, "naloxone_uses"), ("dosing", row, "other_adverse_events")],
        )
    for name in (*DOSING_COUNTS, "other_adverse_events"):
        cells.relation(("dosing", total, name), [("dosing", row, name) for row in periods])
        if len(clinic_rows) > 1:
            cells.relation(("dosing", total, name), [("dosing", row, name) for row in clinic_rows])

    # --- patients: new starts and discharges by reason are additive; in treatment is a distinct count ---
    reasons = list(DischargeReason.values)
    for row, figures in [*zip(periods, stats.patients, strict=True), (total, stats.patients_total)]:
        cells.add(("patients", row, "in_treatment"), figures.in_treatment)
        cells.add(("patients", row, "new_starts"), figures.new_starts)
        for reason in reasons:
            cells.add(("patients", row, reason), figures.discharges.get(reason, 0))
        cells.add(("patients", row, "discharges"), sum(figures.discharges.values()))
        cells.relation(("patients", row, "discharges"), [("patients", row, reason) for reason in reasons])
    for name in ("new_starts", "discharges", *reasons):
        cells.relation(("patients", total, name), [("patients", row, name) for row in periods])

    # --- retention: a cohort is the period's new starts = retained + not retained ---
    for row, cohort in zip(periods, stats.cohorts, strict=True):
        for months, retained in cohort.retained.items():
            if retained is None:
                continue
            cells.add(("retention", row, months), retained)
            cells.add(("retention", row, months, "lost"), cohort.started - retained, unseen=True)
            cells.relation(
                ("patients", row, "new_starts"), [("retention", row, months), ("retention", row, months, "lost")]
            )

    # --- referrals ---
    sources = list(ReferralSource.values)
    for row, figures in [*zip(periods, stats.referrals, strict=True), (total, stats.referrals_total)]:
        for source in sources:
            cells.add(("referrals", row, source), figures.by_source.get(source, 0))
        cells.add(("referrals", row, "received"), figures.received)
        cells.add(("referrals", row, "started"), figures.started)
        cells.add(("referrals", row, "not_started"), figures.received - figures.started, unseen=True)
        cells.relation(("referrals", row, "received"), [("referrals", row, source) for source in sources])
        cells.relation(
            ("referrals", row, "received"), [("referrals", row, "started"), ("referrals", row, "not_started")]
        )
    for name in ("received", "started", "not_started", *sources):
        cells.relation(("referrals", total, name), [("referrals", row, name) for row in periods])

    # --- outcomes (TOP): n people; flags are counts of n ---
    for row, figures in [*zip(periods, stats.outcomes, strict=True), (total, stats.outcomes_total)]:
        cells.add(("top", row, "n"), figures.n)
        for flag in TOP_FLAGS:
            for when, index in (("start", 0), ("latest", 1)):
                count = figures.sums.get(flag, [0, 0])[index]
                cells.add(("top", row, flag, when), count)
                cells.add(("top", row, flag, when, "no"), figures.n - count, unseen=True)
                cells.relation(("top", row, "n"), [("top", row, flag, when), ("top", row, flag, when, "no")])

    # --- onward referrals: sent per period by partner kind; where the range's referrals stand, by kind ---
    kinds = list(PartnerKind.values)
    places = [ONWARD_OPEN, ONWARD_CANCELLED, *OnwardOutcome.values]
    period_sent = [sum(counts.values()) for counts in stats.onward]
    for row, counts, sent in [*zip(periods, stats.onward, period_sent, strict=True)]:
        for kind in kinds:
            cells.add(("onward", row, kind), counts.get(kind, 0))
        cells.add(("onward", row, "all"), sent)
        cells.relation(("onward", row, "all"), [("onward", row, kind) for kind in kinds])
    for kind in [*kinds, "all"]:
        if kind == "all":
            figures = sum(stats.onward_by_kind.values(), Counter())
        else:
            figures = stats.onward_by_kind.get(kind, Counter())
        cells.add(("onward", total, kind), figures.get("sent", 0))
        cells.relation(("onward", total, kind), [("onward", row, kind) for row in periods])
        for place in places:
            cells.add(("onward_place", kind, place), figures.get(place, 0))
        cells.relation(("onward", total, kind), [("onward_place", kind, place) for place in places])
    cells.relation(("onward", total, "all"), [("onward", total, kind) for kind in kinds])
    for place in places:
        cells.relation(("onward_place", "all", place), [("onward_place", kind, place) for kind in kinds])

    cells.solve()
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
        "suppression": f"Counts from 1 to {SMALLEST_SHOWN - 1} are shown as {SUPPRESSED}, and so is any figure "
        "from which one could be worked out.",
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
    out["outcomes"] = {
        "rows": [
            {"period": _period_out(period), **top_out(row, figures)}
            for row, period, figures in zip(periods, stats.periods, stats.outcomes, strict=True)
        ],
        "total": top_out(total, stats.outcomes_total),
    }
    return out
