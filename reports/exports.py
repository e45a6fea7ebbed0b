"""The CSV export: the presented (already suppressed) report, one figure per line."""

import csv

from .selectors import RETENTION_MONTHS


def rows(report: dict):
    """(section, period, period start, period end, measure, value) for every figure of the report."""
    labels = report["labels"]

    def period_of(row):
        period = row.get("period") or row.get("cohort")
        return (period["label"], period["start"], period["end"]) if period else ("Whole range", "", "")

    def dosing(section, row, prefix=("",)):
        out = []
        for name in ("scheduled", "given", "missed", "withheld", "refused", "pending", "cancelled"):
            out.append((f"sessions {name}", row[name]))
        out.append(("attendance rate", row["attendance_rate"]))
        out.append(("adverse events", row["adverse_events"]))
        out.append(("naloxone uses", row["naloxone_uses"]))
        for drug, mean in row.get("mean_daily_dose_mg", {}).items():
            out.append((f"mean daily dose mg: {labels['drugs'].get(drug, drug)}", mean))
        return out

    for row in [*report["dosing"]["rows"], report["dosing"]["total"]]:
        for measure, value in dosing("dosing", row):
            yield ("dosing", *period_of(row), measure, value)
    for row in report["dosing"]["by_clinic"]:
        for measure, value in dosing("dosing", row):
            yield (f"dosing: {row['clinic']['name']}", "Whole range", "", "", measure, value)
    for row in [*report["patients"]["rows"], report["patients"]["total"]]:
        yield ("patients", *period_of(row), "in treatment", row["in_treatment"])
        yield ("patients", *period_of(row), "new starts", row["new_starts"])
        yield ("patients", *period_of(row), "discharges", row["discharges"])
        for reason, value in row["discharges_by_reason"].items():
            yield ("patients", *period_of(row), f"discharges: {labels['discharge_reasons'][reason]}", value)
    for row in report["retention"]["rows"]:
        yield ("retention", *period_of(row), "cohort started", row["started"])
        for months in RETENTION_MONTHS:
            yield ("retention", *period_of(row), f"retained at {months} months", row[f"retained_{months}m"])
            yield ("retention", *period_of(row), f"retention rate at {months} months", row[f"retention_rate_{months}m"])
    for row in [*report["outcomes"]["rows"], report["outcomes"]["total"]]:
        yield ("outcomes", *period_of(row), "people with a follow-up interview", row["people"])
        for measure, values in row["means"].items():
            for when, value in values.items():
                yield ("outcomes", *period_of(row), f"{labels['top_means'][measure]}: {when}", value)
        for flag, values in row["flags"].items():
            for when, figures in values.items():
                yield ("outcomes", *period_of(row), f"{labels['top_flags'][flag]}: {when} count", figures["count"])
                yield ("outcomes", *period_of(row), f"{labels['top_flags'][flag]}: {when} rate", figures["rate"])
    for row in [*report["referrals"]["rows"], report["referrals"]["total"]]:
        for source, value in row["by_source"].items():
            yield ("referrals", *period_of(row), f"received: {labels['referral_sources'][source]}", value)
        yield ("referrals", *period_of(row), "received", row["received"])
        yield ("referrals", *period_of(row), "started treatment", row["started"])
        yield ("referrals", *period_of(row), "conversion rate", row["conversion_rate"])
    onward = report["onward_referrals"]
    for row in onward["rows"]:
        yield ("onward referrals", *period_of(row), "sent", row["sent"])
        for kind, value in row["by_partner_kind"].items():
            yield ("onward referrals", *period_of(row), f"sent to: {labels['partner_kinds'][kind]}", value)
    for row in onward["by_partner_kind"]:
        kind = labels["partner_kinds"][row["partner_kind"]]
        yield ("onward referrals", "Whole range", "", "", f"{kind}: sent", row["sent"])
        for place, value in row["where_now"].items():
            yield ("onward referrals", "Whole range", "", "", f"{kind}: {labels['onward_places'][place]}", value)


def write_csv(out, report: dict) -> None:
    writer = csv.writer(out)
    writer.writerow(["section", "period", "period_start", "period_end", "measure", "value"])
    for section, label, start, end, measure, value in rows(report):
        writer.writerow([section, label, start, end, measure, "" if value is None else value])
