"""The outcomes dashboard as it may be shown (issue 15): headline figures, TOP change, safety, cost.

Every count goes through `suppression.disclose` and every rate through `suppression.rate`, the one
rule of the statistics; a change against the previous period is worked out from the figures as shown
(two disclosed counts), never from the raw ones, so it cannot give away what the rounding hides.
"""

from .outcomes import DISCHARGE_GROUPS, GROUP_OF, Outcomes
from .selectors import RETENTION_MONTHS, TOP_CHANGE, Statistics
from .suppression import SUPPRESSED, disclose, is_small, rate


def per_thousand(events: int, patient_days: int):
    """Events per 1,000 patient-days: None without patient-days, '*' when either count is from 1 to 7."""
    if patient_days == 0:
        return None
    if is_small(events) or is_small(patient_days):
        return SUPPRESSED
    return round(events * 1000 / patient_days, 2)


def _change(current, previous):
    """current - previous, from the figures shown: None when either is missing, '*' when either is hidden."""
    if current is None or previous is None:
        return None
    if SUPPRESSED in (current, previous):
        return SUPPRESSED
    return round(current - previous, 2)


def _figure(key, label, kind, current, previous, trend) -> dict:
    return {
        "key": key,
        "label": label,
        "kind": kind,  # "count" or "rate" (0 to 1)
        "value": current,
        "previous": previous,
        "change": _change(current, previous),
        "trend": trend,
    }


def _retention(figures, months):
    cohort = figures.retention.get(months)
    return None if cohort is None else rate(cohort[1], cohort[0])


def _headline(stats: Statistics, out: Outcomes, report: dict) -> dict:
    current, previous = out.current, out.previous
    patients_rows, dosing_rows = report["patients"]["rows"], report["dosing"]["rows"]
    figures = [
        _figure(
            "caseload",
            "Patients in treatment",
            "count",
            disclose(current.caseload),
            disclose(previous.caseload),
            [row["in_treatment"] for row in patients_rows],
        ),
        _figure(
            "new_starts",
            "New starts",
            "count",
            disclose(current.new_starts),
            disclose(previous.new_starts),
            [row["new_starts"] for row in patients_rows],
        ),
        _figure(
            "attendance_rate",
            "Attendance (doses given of sessions scheduled)",
            "rate",
            rate(current.given, current.scheduled),
            rate(previous.given, previous.scheduled),
            [row["attendance_rate"] for row in dosing_rows],
        ),
    ]
    for months in RETENTION_MONTHS:
        figures.append(
            _figure(
                f"retention_{months}m",
                f"Still in treatment {months} months after starting",
                "rate",
                _retention(current, months),
                _retention(previous, months),
                [row[f"retention_rate_{months}m"] for row in report["retention"]["rows"]],
            )
        )
    for group, (label, _) in DISCHARGE_GROUPS.items():
        trend = [
            disclose(sum(n for reason, n in period.discharges.items() if GROUP_OF.get(reason, "other") == group))
            for period in stats.patients
        ]
        figures.append(
            _figure(
                f"discharged_{group}",
                f"Discharged: {label.lower()}",
                "count",
                disclose(current.discharges.get(group, 0)),
                disclose(previous.discharges.get(group, 0)),
                trend,
            )
        )
    return {
        "previous_period": {"start": previous.start.isoformat(), "end": previous.end.isoformat()},
        "figures": figures,
    }


def _top_change(out: Outcomes) -> dict:
    rows = []
    for name, (label, kind, lower_is_better) in TOP_CHANGE.items():
        change = out.top[name]
        if kind == "flag":  # the share who said yes
            entry, latest = rate(change.entry, change.n), rate(change.latest, change.n)
        elif change.n == 0:
            entry = latest = None
        elif is_small(change.n):
            entry = latest = SUPPRESSED
        else:
            entry, latest = round(change.entry / change.n, 1), round(change.latest / change.n, 1)
        rows.append(
            {
                "measure": name,
                "label": label,
                "kind": kind,
                "lower_is_better": lower_is_better,
                "people": disclose(change.n),
                "entry": entry,
                "latest": latest,
                "change": _change(latest, entry),
                "improved": disclose(change.improved),
                "same": disclose(change.same),
                "worse": disclose(change.worse),
            }
        )
    n = next(iter(out.top.values())).n if out.top else 0
    return {"people": disclose(n), "rows": rows}


SAFETY = {
    "adverse_events": "Adverse events",
    "overdoses": "Overdoses",
    "naloxone_uses": "Naloxone given",
    "deaths": "Deaths in treatment",
}


def _safety(stats: Statistics, out: Outcomes, report: dict) -> dict:
    def figures(counts: dict, patient_days: int) -> dict:
        row = {"patient_days": disclose(patient_days)}
        for key in SAFETY:
            row[key] = disclose(counts[key])
            row[f"{key}_per_1000"] = per_thousand(counts[key], patient_days)
        return row

    rows = []
    periods = zip(report["dosing"]["rows"], stats.dosing, stats.patients, out.patient_days, strict=True)
    for shown, dosing, patients, patient_days in periods:
        counts = {
            "adverse_events": dosing.adverse_events,
            "overdoses": dosing.overdoses,
            "naloxone_uses": dosing.naloxone_uses,
            "deaths": patients.discharges.get("died", 0),
        }
        rows.append({"period": shown["period"], **figures(counts, patient_days)})
    current = out.current
    total = {
        "adverse_events": current.adverse_events,
        "overdoses": current.overdoses,
        "naloxone_uses": current.naloxone_uses,
        "deaths": current.deaths,
    }
    return {"labels": SAFETY, "rows": rows, "total": figures(total, current.patient_days)}


def _comparison(stats: Statistics, out: Outcomes) -> list:
    """The headline figures of each clinic, side by side (issue 15, item 5); empty for one clinic."""
    rows = []
    for clinic, dosing in stats.dosing_by_clinic:
        figures = out.by_clinic.get(clinic.pk)
        if figures is None:
            continue
        row = {
            "clinic": {"id": clinic.pk, "name": clinic.name},
            "caseload": disclose(figures.caseload),
            "new_starts": disclose(figures.new_starts),
            "attendance_rate": rate(dosing.doses_given, dosing.scheduled),
            "patient_days": disclose(figures.patient_days),
            "deaths": disclose(figures.deaths),
            "naloxone_uses_per_1000": per_thousand(dosing.naloxone_uses, figures.patient_days),
        }
        for months in RETENTION_MONTHS:
            row[f"retention_{months}m"] = _retention(figures, months)
        for group in DISCHARGE_GROUPS:
            row[f"discharged_{group}"] = disclose(figures.discharges.get(group, 0))
        rows.append(row)
    return rows


def present_outcomes(stats: Statistics, out: Outcomes, report: dict) -> dict:
    """The outcome sections to add to `report` (the presented statistics of the same filters)."""
    return {
        "comparison": _comparison(stats, out),
        "headline": _headline(stats, out, report),
        "top_change": _top_change(out),
        "safety": _safety(stats, out, report),
    }
