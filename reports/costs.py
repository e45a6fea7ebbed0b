"""Cost view (issue 15, item 4): cost of treatment against the estimated cost of crime avoided. An estimate.

Built only from the unit costs each clinic manager sets (ClinicCosts, OffenceUnitCost, each with its source)
and from the records: patient-days in treatment (episodes) and the paired TOP change from the first interview
to the latest review (the follow-up summary). Nothing is shown for a clinic whose unit costs are not all set,
and no figure for a set of clinics unless every one of them has them.

The arithmetic, printed beside the figures as assumptions:
- treatment cost = patient-days in treatment in the range (rounded to the nearest 5, as shown) x the clinic's
  cost per patient-day;
- for each offence type, the fall per person per 28 days = (sum at first interview - sum at latest review) / n
  (days for shoplifting and selling drugs; one offence per 28 days for a "yes" to other theft or assault);
- crime avoided = that fall x patient-days / 28 x the unit cost, added up over offence types and clinics.
Figures are rounded to the nearest 100; the crime figure is hidden when a clinic has fewer than 8 people with
a review (or fewer than 8 patient-days).
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum

from patients.models import Episode

from .models import ClinicCosts, OffenceType, OutcomeFollowUp
from .suppression import SMALLEST_SHOWN, SUPPRESSED, disclose

OFFENCE_MEASURE = {
    OffenceType.SHOPLIFTING: "shoplifting_days",
    OffenceType.SELLING_DRUGS: "selling_drugs_days",
    OffenceType.OTHER_THEFT: "other_theft",
    OffenceType.ASSAULT: "assault",
}
ASSUMPTIONS = (
    "Treatment cost is patient-days in treatment in the range times each clinic's cost per patient-day.",
    "The fall in offending is measured by TOP: each person's first interview against their latest review in the "
    "range, over the people who have both. Days of shoplifting and of selling drugs count one offence a day; "
    "a yes to other theft or to assault counts one offence in the 28 days.",
    "The average fall per person is assumed to hold for every patient-day in treatment in the range.",
    "Nothing is deducted for crime that would have fallen anyway, and crime is self-reported.",
    "Each offence is priced at the unit cost the clinic manager set, from the source named beside it.",
)


def _money(value: Decimal) -> int:
    return int((value / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 100)


@dataclass
class ClinicEstimate:
    clinic: object
    costs: ClinicCosts
    patient_days: int
    people: int
    falls: dict  # offence -> fall per person per 28 days (Decimal)


def _patient_days(clinic_ids, start: date, end: date, as_of: date) -> Counter:
    counted_to = min(end, as_of)
    days = Counter()
    for clinic_id, started_on, ended_on in (
        Episode.objects.filter(clinic_id__in=clinic_ids, started_on__lte=end)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=start))
        .values_list("clinic_id", "started_on", "ended_on")
        .order_by()
    ):
        last = min(ended_on or counted_to, counted_to)
        days[clinic_id] += max(0, (last - max(started_on, start)).days + 1)
    return days


def _top_sums(clinic_ids, start: date, end: date) -> dict:
    sums = {"n": Count("id")}
    for measure in OFFENCE_MEASURE.values():
        sums[f"entry_{measure}"] = Sum(f"start_{measure}")
        sums[f"latest_{measure}"] = Sum(measure)
    rows = (
        OutcomeFollowUp.objects.filter(episode__clinic_id__in=clinic_ids, interviewed_on__range=(start, end))
        .filter(Q(next_interviewed_on__isnull=True) | Q(next_interviewed_on__gt=end))
        .values("episode__clinic_id")
        .annotate(**sums)
        .order_by()
    )
    return {row["episode__clinic_id"]: row for row in rows}


def cost_estimate(*, clinics, start: date, end: date, as_of: date) -> dict:
    """The cost view of these clinics and range, as it may be shown (plain data)."""
    clinics = list(clinics)
    costs = {
        c.clinic_id: c for c in ClinicCosts.objects.filter(clinic__in=clinics).prefetch_related("offences").order_by()
    }
    missing = [
        clinic.name
        for clinic in clinics
        if clinic.pk not in costs or {o.offence for o in costs[clinic.pk].offences.all()} != set(OFFENCE_MEASURE)
    ]
    if missing:
        return {"available": False, "missing": missing, "assumptions": ASSUMPTIONS}
    clinic_ids = [clinic.pk for clinic in clinics]
    days, top = _patient_days(clinic_ids, start, end, as_of), _top_sums(clinic_ids, start, end)
    treatment, avoided = Decimal(0), Decimal(0)
    too_few = []
    units = defaultdict(list)
    for clinic in clinics:
        clinic_costs = costs[clinic.pk]
        # The patient-days as shown elsewhere (rounded): priced exactly, two ranges' costs would give away
        # the difference in patient-days, which can be a count from 1 to 7 (the patients of one day).
        patient_days = disclose(days.get(clinic.pk, 0))
        if patient_days == SUPPRESSED:
            too_few.append(clinic.name)
            patient_days = 0
        treatment += patient_days * clinic_costs.cost_per_patient_day
        sums = top.get(clinic.pk, {"n": 0})
        if sums["n"] < SMALLEST_SHOWN and clinic.name not in too_few:
            too_few.append(clinic.name)
        for unit in clinic_costs.offences.all():
            units[unit.offence].append(
                {"clinic": clinic.name, "unit_cost": float(unit.unit_cost), "source": unit.source}
            )
            if clinic.name not in too_few:
                measure = OFFENCE_MEASURE[unit.offence]
                fall = Decimal(sums[f"entry_{measure}"] - sums[f"latest_{measure}"]) / sums["n"]
                avoided += fall * patient_days / 28 * unit.unit_cost
    return {
        "available": True,
        "treatment_cost": _money(treatment),
        "crime_avoided": None if too_few else _money(avoided),  # treatment cost alone is still shown
        "too_few_reviews": too_few,
        "unit_costs": {
            "patient_day": [
                {
                    "clinic": clinic.name,
                    "unit_cost": float(costs[clinic.pk].cost_per_patient_day),
                    "source": costs[clinic.pk].cost_source,
                }
                for clinic in clinics
            ],
            "offences": {offence: units[offence] for offence in OFFENCE_MEASURE},
        },
        "offence_labels": dict(OffenceType.choices),
        "assumptions": ASSUMPTIONS,
    }
