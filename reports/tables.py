"""The rows of the dashboard's long tables (one per period), written here instead of by the template engine.

Five years by week or month is thousands of figures on one page, and the template language spends
microseconds on each one (a variable lookup, a filter, escaping): most of the time to draw the page.
Each body below is one pass over the presented (already suppressed) report, formatted by the same
filters the template uses and escaped as the template would, so the page reads exactly as before.
The captions, headings and the short tables stay in the template.
"""

from html import escape
from itertools import chain

from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe

from .selectors import RETENTION_MONTHS
from .templatetags.reports_tags import figure, pct

DOSING_COLUMNS = ("missed", "withheld", "refused", "pending", "cancelled", "adverse_events", "naloxone_uses")


def _text(value) -> str:
    """What the template does with {{ value }} of plain data: localise a number, then escape (as Django's escape())."""
    return escape(value if isinstance(value, str) else str(localize(value)))


def _row(header, cells) -> str:
    return f'<tr><th scope="row">{_text(header)}</th>{"".join(f"<td>{_text(cell)}</td>" for cell in cells)}</tr>'


def _body(rows, header, cells) -> SafeString:
    """<tr> rows: a row heading (`header(row)`) and the cells of each row (`cells(row)`), every text escaped."""
    return mark_safe("".join(_row(header(row), cells(row)) for row in rows))  # noqa: S308 (escaped by _text)


def _period(row) -> str:
    return row["period"]["label"]


def _rows(report: dict, names) -> dict[str, SafeString]:
    """The body rows of the named per-period tables, by table."""
    labels = report["labels"]
    drugs, reasons, sources = list(labels["drugs"]), list(labels["discharge_reasons"]), list(labels["referral_sources"])
    kinds = [kind for kind in labels["partner_kinds"] if kind != "all"]
    dosing = report["dosing"]["rows"]
    bodies = {
        "dosing": lambda: _body(
            dosing,
            _period,
            lambda row: [
                figure(row["scheduled"]),
                figure(row["given"]),
                pct(row["attendance_rate"]),
                *(figure(row[name]) for name in DOSING_COLUMNS),
            ],
        ),
        "doses": lambda: _body(
            dosing, _period, lambda row: [figure((row.get("mean_daily_dose_mg") or {}).get(drug)) for drug in drugs]
        ),
        "patients": lambda: _body(
            report["patients"]["rows"],
            _period,
            lambda row: [
                figure(row["in_treatment"]),
                figure(row["new_starts"]),
                figure(row["discharges"]),
                *(figure(row["discharges_by_reason"].get(reason)) for reason in reasons),
            ],
        ),
        "retention": lambda: _body(
            report["retention"]["rows"],
            lambda row: row["cohort"]["label"],
            lambda row: [
                figure(row["started"]),
                *chain.from_iterable(
                    (figure(row[f"retained_{months}m"]), pct(row[f"retention_rate_{months}m"]))
                    for months in RETENTION_MONTHS
                ),
            ],
        ),
        "outcomes": lambda: _body(
            report["outcomes"]["rows"],
            _period,
            lambda row: [
                figure(row["people"]),
                *(
                    figure(row["means"][measure][when])
                    for measure in ("heroin_days", "crime_days")
                    for when in ("start", "latest")
                ),
            ],
        ),
        "referrals": lambda: _body(
            report["referrals"]["rows"],
            _period,
            lambda row: [
                *(figure(row["by_source"].get(source)) for source in sources),
                figure(row["received"]),
                figure(row["started"]),
                pct(row["conversion_rate"]),
            ],
        ),
        "safety": lambda: _body(
            report["safety"]["rows"],
            _period,
            lambda row: [
                figure(row["patient_days"]),
                *chain.from_iterable(
                    (figure(row[key]), figure(row[f"{key}_per_1000"])) for key in report["safety"]["labels"]
                ),
            ],
        ),
        "onward": lambda: _body(
            report["onward_referrals"]["rows"],
            _period,
            lambda row: [figure(row["sent"]), *(figure(row["by_partner_kind"].get(kind)) for kind in kinds)],
        ),
    }
    return {name: bodies[name]() for name in names}


# The dashboard's tables: those beside its charts. The others are on the page of figures by period, drawn only
# when it is asked for (issue 15: the dashboard's first view).
DASHBOARD_TABLES = ("dosing", "doses", "retention", "safety")
MORE_TABLES = ("patients", "outcomes", "referrals", "onward")


def dashboard_rows(report: dict) -> dict[str, SafeString]:
    """The body rows of the dashboard's per-period tables, by table."""
    return _rows(report, DASHBOARD_TABLES)


def more_rows(report: dict) -> dict[str, SafeString]:
    """The body rows of the tables of the page of figures by period, by table."""
    return _rows(report, MORE_TABLES)
