"""Cost view (issue 15, item 4): no figure without unit costs; a hand-computed estimate with them."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from patients.models import Episode
from reports import services
from reports.costs import cost_estimate
from reports.models import ClinicCosts, OffenceType
from tests.factories import PatientFactory

from .conftest import interview

pytestmark = pytest.mark.django_db
D = datetime.date
START, END, AS_OF = D(2026, 1, 1), D(2026, 6, 30), D(2026, 12, 1)
OFFENCES = {
    OffenceType.SHOPLIFTING: (Decimal(150), "Home Office 2018, table 5"),
    OffenceType.SELLING_DRUGS: (Decimal(1000), "Home Office 2018, table 5"),
    OffenceType.OTHER_THEFT: (Decimal(800), "Home Office 2018, theft from the person"),
    OffenceType.ASSAULT: (Decimal(5000), "Home Office 2018, violence with injury"),
}


@pytest.fixture
def reviewed(clinic, keyworker):
    """8 patients in treatment all of 1 Jan - 30 Jun 2026 (181 days each): shoplifting 10 -> 4 days, theft yes -> no."""
    for _ in range(8):
        patient = PatientFactory(clinic=clinic, episode=False)
        Episode.objects.create(patient=patient, clinic=clinic, started_on=START)
        first = interview(patient, START, heroin=20, shoplifting=10, recorded_by=keyworker)
        first.other_theft = True
        first.save()
        interview(patient, D(2026, 4, 1), heroin=10, shoplifting=4, recorded_by=keyworker)
    services.refresh_summaries()


def _set(clinic, manager):
    return services.set_clinic_costs(
        clinic=clinic,
        by=manager,
        cost_per_patient_day=Decimal(100),
        cost_source="Trust finance 2026",
        offences=OFFENCES,
    )


def test_no_figure_appears_without_unit_costs(reviewed, clinic, client_for, commissioner):
    estimate = cost_estimate(clinics=[clinic], start=START, end=END, as_of=AS_OF)
    assert estimate["available"] is False and estimate["missing"] == [clinic.name]
    assert "treatment_cost" not in estimate and "crime_avoided" not in estimate
    page = client_for(commissioner).get(reverse("reports-dashboard"), {"start": "2026-01-01", "end": "2026-06-30"})
    assert "No estimate: the unit costs are not set" in page.content.decode()
    assert "£" not in page.content.decode()


def test_the_estimate_with_unit_costs_set_matches_the_hand_computation(reviewed, clinic, manager, client_for):
    _set(clinic, manager)
    estimate = cost_estimate(clinics=[clinic], start=START, end=END, as_of=AS_OF)
    # 8 x 181 = 1,448 patient-days, shown (and priced) as 1,450; x £100 = £145,000.
    assert estimate["treatment_cost"] == 145_000
    # Per person per 28 days: 6 fewer shoplifting days (x £150) and 1 fewer theft (x £800) = £1,700;
    # x 1,450 / 28 patient-days = £88,035.71, to the nearest £100.
    assert estimate["crime_avoided"] == 88_000
    page = client_for(manager).get(reverse("reports-dashboard"), {"start": "2026-01-01", "end": "2026-06-30"})
    text = page.content.decode()
    assert "Estimate" in text and "£145,000" in text and "£88,000" in text
    assert "Home Office 2018, table 5" in text and "crime is self-reported" in text


def test_an_estimate_over_clinics_needs_every_clinics_unit_costs(reviewed, clinic, other_clinic, manager):
    _set(clinic, manager)
    estimate = cost_estimate(clinics=[clinic, other_clinic], start=START, end=END, as_of=AS_OF)
    assert estimate["available"] is False and estimate["missing"] == [other_clinic.name]


def test_a_cost_without_a_source_is_refused_and_nothing_is_written(clinic, manager):
    offences = {**OFFENCES, OffenceType.ASSAULT: (Decimal(5000), "  ")}
    with pytest.raises(ValidationError) as error:
        services.set_clinic_costs(
            clinic=clinic, by=manager, cost_per_patient_day=Decimal(0), cost_source="x", offences=offences
        )
    assert set(error.value.message_dict) == {"cost_per_patient_day", "source_assault"}
    assert not ClinicCosts.objects.exists()


def test_the_clinic_manager_sets_unit_costs_on_a_page_and_a_commissioner_may_not(
    clinic, manager, commissioner, client_for
):
    data = {"clinic": clinic.pk, "cost_per_patient_day": "95.50", "cost_source": "Trust finance 2026"}
    for offence, (cost, source) in OFFENCES.items():
        data[f"unit_cost_{offence}"], data[f"source_{offence}"] = str(cost), source
    response = client_for(manager).post(reverse("reports-costs"), data)
    assert response.status_code == 302
    assert ClinicCosts.objects.get(clinic=clinic).cost_per_patient_day == Decimal("95.50")
    bad = client_for(manager).post(reverse("reports-costs"), {**data, "source_assault": ""})
    assert bad.status_code == 400 and "This field is required." in bad.content.decode()
    assert client_for(commissioner).get(reverse("reports-costs")).status_code == 403
