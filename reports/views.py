"""Statistics pages: the dashboard and its CSV. Thin: parse the filters, call the selector, present, render.

Commissioners and clinic managers (VIEW_STATISTICS) see only the clinics `clinics_for` gives
them; another clinic is 404. Nothing here ever names a patient: the selector returns counts.
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache

from clinics.access import has_capability, staff_only
from clinics.models import Clinic
from clinics.roles import Capability
from clinics.selectors import clinics_for
from clinics.widgets import DATE_DISPLAY, DATE_HINT, DateField
from patients.models import AccessLogEntry, AccessPart

from . import charts, exports, ndtms, services, tables
from .cache import rendered, report_for, report_key
from .forms import UnitCostsForm
from .models import ClinicCosts
from .selectors import RETENTION_MONTHS, Granularity, parse_filters
from .suppression import RULE as SUPPRESSION_RULE


def _filters(request):
    """(clinics, start, end, granularity, filters, errors): the checked filters, or errors naming the fields."""
    params = request.GET
    filters = {name: params.get(name, "") for name in ("clinic", "start", "end", "granularity")}
    # The page's dates are typed as dd/mm/yyyy whatever the browser's locale (issue 14.9); links and the API use ISO.
    typed = {name: filters[name] for name in ("start", "end")}
    filters.update({name: _iso_date(value) or value for name, value in typed.items()})
    try:
        clinics, start, end, granularity = parse_filters(request.user, **filters)
    except Clinic.DoesNotExist:
        raise Http404("No such clinic among yours.") from None
    except ValidationError as error:
        errors = error.message_dict
        for name in typed:
            if name in errors and typed[name] and _iso_date(typed[name]) is None:  # not a date in either form
                errors[name] = [f"Enter a date as {DATE_HINT}, e.g. 03/12/2026."]
        filters.update({f"{name}_shown": value for name, value in typed.items()})
        return None, None, None, None, filters, errors
    if not clinics:
        raise Http404("You cover no clinic.")
    filters.update(start=start.isoformat(), end=end.isoformat(), granularity=granularity)
    filters.update(start_shown=start.strftime(DATE_DISPLAY), end_shown=end.strftime(DATE_DISPLAY))
    return clinics, start, end, granularity, filters, {}


def _iso_date(text: str) -> str | None:
    """A date typed as dd/mm/yyyy (or ISO) in ISO form; None for empty or anything else (parse_filters decides)."""
    try:
        day = DateField(required=False).clean(text)
    except ValidationError:
        return None
    return day.isoformat() if day else None


def _report(request):
    """(report, filters, errors): the presented report, or errors naming the fields (report None)."""
    clinics, start, end, granularity, filters, errors = _filters(request)
    if errors:
        return None, filters, errors
    return report_for(clinics=clinics, start=start, end=end, granularity=granularity), filters, {}


# The lead charts share the first screen side by side: a narrower drawing keeps their text at its size.
LEAD_CHART_WIDTH = 640


def _charts(report) -> dict:
    rows = report["dosing"]["rows"]
    labels = [row["period"]["label"] for row in rows]
    cohorts = report["retention"]["rows"]
    return {
        "attendance": charts.line_chart(
            "chart-attendance",
            title="Attendance rate by period",
            description="Share of scheduled sessions at which a dose was given. The table below has the figures.",
            labels=labels,
            series=[("series-1", "Attendance rate", [row["attendance_rate"] for row in rows])],
        ),
        "doses": charts.bar_chart(
            "chart-doses",
            title="Doses given, missed and withheld by period",
            description="Bars per period. The table below has the figures.",
            labels=labels,
            series=[
                ("series-1", "Given", [row["given"] for row in rows]),
                ("series-2", "Missed", [row["missed"] for row in rows]),
                ("series-3", "Withheld", [row["withheld"] for row in rows]),
            ],
        ),
        "top_change": charts.change_bars(
            "chart-top-change",
            title="How many improved, stayed the same or got worse, first interview to latest review",
            description="One bar per outcome measure. The table under the chart has the figures.",
            rows=[(row["label"], row["improved"], row["same"], row["worse"]) for row in report["top_change"]["rows"]],
            width=LEAD_CHART_WIDTH,
        ),
        "safety": charts.bar_chart(
            "chart-safety",
            title="Safety events per 1,000 patient-days by period",
            description="Bars per period; a star marks a figure hidden to protect patients. The table has the figures.",
            labels=labels,
            series=[
                (f"series-{i + 1}", label, [row[f"{key}_per_1000"] for row in report["safety"]["rows"]])
                for i, (key, label) in enumerate(report["safety"]["labels"].items())
            ],
            width=LEAD_CHART_WIDTH,
        ),
        "comparison": charts.bar_chart(
            "chart-comparison",
            title="Clinics side by side: attendance and retention",
            description="Bars per clinic. The table under the chart has these and the other headline figures.",
            labels=[row["clinic"]["name"] for row in report["comparison"]],
            series=[
                ("series-1", "Attendance", [row["attendance_rate"] for row in report["comparison"]]),
                ("series-2", "Retained at 3 months", [row["retention_3m"] for row in report["comparison"]]),
                ("series-3", "Retained at 12 months", [row["retention_12m"] for row in report["comparison"]]),
            ],
            percent=True,
        ),
        "retention": charts.bar_chart(
            "chart-retention",
            title="Retention of each start cohort at 3, 6 and 12 months",
            description="Share of each cohort still in treatment. The table below has the figures.",
            labels=[row["cohort"]["label"] for row in cohorts],
            series=[
                (f"series-{i + 1}", f"{months} months", [row[f"retention_rate_{months}m"] for row in cohorts])
                for i, months in enumerate(RETENTION_MONTHS)
            ],
            percent=True,
        ),
    }


def _report_html(report) -> str:
    """The dashboard's charts and tables of a report: the same for everyone who may see it (cached beside it)."""
    start, end = (date.fromisoformat(report["filters"][k]) for k in ("start", "end"))
    previous = report["headline"]["previous_period"]
    before_start, before_end = (date.fromisoformat(previous[k]) for k in ("start", "end"))
    context = {
        "report": report,
        "charts": _charts(report),
        "rows": tables.dashboard_rows(report),
        "retention_months": RETENTION_MONTHS,
        "range_label": f"{start:%-d %b %Y} to {end:%-d %b %Y}",
        "previous_label": f"{before_start:%-d %b %Y} to {before_end:%-d %b %Y}",
        "sparklines": {
            item["key"]: charts.sparkline(item["trend"], label=f"Trend of {item['label'].lower()} by period")
            for item in report["headline"]["figures"]
        },
    }
    return render_to_string("reports/_report.html", context)


def _tables_html(report) -> str:
    """The tables of the page of figures by period of a report (cached beside it, as the dashboard's part)."""
    return render_to_string("reports/_tables.html", {"report": report, "rows": tables.more_rows(report)})


def _statistics_page(request, *, template: str, part: str, draw, detail: bool):
    """A page of the report of the request's filters: `draw(report)` its part, cached beside the report (with
    `detail`: the whole report, else the dashboard's, cache.report_for)."""
    clinics, start, end, granularity, filters, errors = _filters(request)
    context = {
        "filters": filters,
        "errors": errors,
        "clinics": clinics_for(request.user).order_by("name"),
        "granularities": Granularity.CHOICES,
        "can_manage": has_capability(request.user, Capability.MANAGE_CLINIC),
        "suppression_rule": SUPPRESSION_RULE,
    }
    if not errors:
        # A repeated view: the version query and one cache read (the report itself is not even unpickled).
        key = report_key(clinics=clinics, start=start, end=end, granularity=granularity)
        context["report_html"] = rendered(
            key,
            part,
            lambda: draw(
                report_for(clinics=clinics, start=start, end=end, granularity=granularity, key=key, detail=detail)
            ),
        )
        context["csv_query"] = request.GET.urlencode()
    return render(request, template, context, status=400 if errors else 200)


@never_cache
@staff_only(Capability.VIEW_STATISTICS)
def dashboard(request):
    return _statistics_page(request, template="reports/dashboard.html", part="html", draw=_report_html, detail=False)


@never_cache
@staff_only(Capability.VIEW_STATISTICS)
def dashboard_tables(request):
    """The figures by period the dashboard does not chart (patients, TOP, referrals, onward referrals), as tables:
    on demand, so that the dashboard's first view does not write thousands of cells nobody asked to see."""
    return _statistics_page(request, template="reports/tables.html", part="tables", draw=_tables_html, detail=True)


@never_cache
@staff_only(Capability.VIEW_STATISTICS)
def dashboard_csv(request):
    report, _filters, errors = _report(request)
    if errors:
        message = "; ".join(f"{field}: {' '.join(reasons)}" for field, reasons in errors.items())
        return HttpResponse(message + "\n", status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="hat-statistics-{report["filters"]["start"]}-to-{report["filters"]["end"]}.csv"'
    )
    exports.write_csv(response, report)
    return response


@never_cache
@staff_only(Capability.MANAGE_CLINIC)
def unit_costs(request):
    """The clinic manager sets the cost per patient-day and the unit cost of each offence type, with sources."""
    clinics = list(clinics_for(request.user).order_by("name"))
    chosen = request.POST.get("clinic") or request.GET.get("clinic")
    try:
        clinic = next(c for c in clinics if str(c.pk) == chosen) if chosen else clinics[0]
    except (StopIteration, IndexError):
        raise Http404("No such clinic among yours.") from None
    costs = ClinicCosts.objects.filter(clinic=clinic).prefetch_related("offences").first()
    form = UnitCostsForm(request.POST or None, costs=costs)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_clinic_costs(
                clinic=clinic,
                by=request.user,
                cost_per_patient_day=form.cleaned_data["cost_per_patient_day"],
                cost_source=form.cleaned_data["cost_source"],
                offences=form.offences(),
            )
        except ValidationError as error:
            for field, reasons in error.message_dict.items():
                for reason in reasons:
                    form.add_error(field, reason)
        else:
            return redirect(f"{reverse('reports-costs')}?clinic={clinic.pk}&saved=1")
    context = {"form": form, "clinic": clinic, "clinics": clinics, "saved": request.GET.get("saved") == "1"}
    return render(request, "reports/costs.html", context, status=400 if form.errors else 200)


@never_cache
@staff_only(Capability.MANAGE_CLINIC)
def ndtms_csv(request):
    """The NDTMS-style monthly dataset of one of the manager's clinics (?clinic=ID&month=YYYY-MM)."""
    clinics = {str(c.pk): c for c in clinics_for(request.user)}
    clinic = clinics.get(request.GET.get("clinic", ""))
    if clinic is None:
        raise Http404("No such clinic among yours.")
    try:
        month = date.fromisoformat(request.GET.get("month", "") + "-01")
    except ValueError:
        return HttpResponse("month: Enter a month as YYYY-MM.\n", status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ndtms-{clinic.code}-{month:%Y-%m}.csv"'
    patients = ndtms.write_csv(response, ndtms.monthly_rows(clinic=clinic, month=month))
    # SPEC 8: a row per person (date of birth, dates) is a view of their record summary.
    AccessLogEntry.objects.bulk_create(
        [
            AccessLogEntry(user=request.user, patient=p, what=AccessPart.RECORD, channel=AccessLogEntry.Channel.UI)
            for p in patients
        ]
    )
    return response
