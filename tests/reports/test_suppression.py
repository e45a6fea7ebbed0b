"""Disclosure control: counts 1-7 are '*', the others rounded to the nearest 5; rates from unrounded counts.

The same presented figures reach the page, the CSV and the API: each is checked here.
"""

import csv
import datetime
import io

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dosing.models import SlotStatus
from reports import services
from reports.selectors import statistics
from reports.suppression import SUPPRESSED, disclose, present, rate
from tests.factories import PatientFactory, PrescriptionFactory
from tests.factories import reports as history

D = datetime.date


@pytest.fixture
def small_month(clinic, nurse, second_nurse, prescriber):
    """March 2026: 20 sessions scheduled for 10 patients, 18 given and 2 missed.

    The 2 missed are '*'; 20 and 18 are shown rounded (20 and 20), and the attendance rate is hidden:
    90% beside a scheduled count of about 20 would give the 2 away.
    """
    nurses = {"nurse": nurse, "witness": second_nurse}
    for n in range(10):
        plan = [SlotStatus.GIVEN, SlotStatus.MISSED if n < 2 else SlotStatus.GIVEN]
        patient = PatientFactory(clinic=clinic, family_name=f"Secretname{n}", episode__started_on=D(2026, 3, 1))
        rx = PrescriptionFactory(patient=patient, prescriber=prescriber, starts_on=D(2026, 3, 1))
        for day, status in enumerate(plan, start=2):
            slot = history.slot(rx, D(2026, 3, day), "morning", status)
            if status == SlotStatus.GIVEN:
                history.dose(slot, 100, **nurses)
    services.refresh_summaries()
    return {"clinic": clinic.pk, "start": "2026-03-01", "end": "2026-03-31", "granularity": "month"}


def test_the_presenter_hides_a_rate_that_would_reveal_a_small_count(small_month, clinic):
    stats = statistics(clinics=[clinic], start=D(2026, 3, 1), end=D(2026, 3, 31), granularity="month")
    assert (stats.dosing[0].scheduled, stats.dosing[0].doses_given, stats.dosing[0].missed) == (20, 18, 2)

    report = present(stats)
    row = report["dosing"]["rows"][0]
    assert (row["scheduled"], row["given"], row["missed"], row["withheld"]) == (20, 20, SUPPRESSED, 0)
    assert row["attendance_rate"] == SUPPRESSED
    assert report["patients"]["rows"][0]["in_treatment"] == 10
    assert row["mean_daily_dose_mg"]["diamorphine_inj"] == 100.0  # 1800 mg over 18 patient-days, 10 people


def test_a_rate_is_worked_out_from_the_unrounded_counts():
    assert rate(32, 41) == 0.78  # shown as 30 of 40 (rounded), the rate is still 32/41, not 75%
    assert rate(5, 40) == SUPPRESSED and rate(40, 45) == SUPPRESSED and rate(10, 7) == SUPPRESSED
    assert rate(0, 0) is None and rate(0, 20) == 0.0


def test_the_page_shows_stars_and_no_rate(small_month, client_for, commissioner):
    response = client_for(commissioner).get(reverse("reports-dashboard"), small_month)

    assert response.status_code == 200
    page = response.content.decode()
    dosing = page.split('id="cap-dosing"', 1)[1]
    row = dosing.split('<th scope="row">Mar 2026</th>', 1)[1].split("</tr>", 1)[0]
    assert row.count("<td>*</td>") == 2  # attendance rate, missed
    assert "90.0%" not in page and "90%" not in page
    assert "Secretname" not in page
    assert "Counts from 1 to 7 are shown as *" in page


def test_the_csv_shows_stars_and_no_rate(small_month, client_for, commissioner):
    response = client_for(commissioner).get(reverse("reports-csv"), small_month)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    march = {r["measure"]: r["value"] for r in rows if r["section"] == "dosing" and r["period"] == "Mar 2026"}
    assert march["sessions scheduled"] == "20"
    assert march["sessions missed"] == "*"
    assert march["sessions given"] == "20"
    assert march["attendance rate"] == "*"
    assert march["sessions withheld"] == "0"


def test_the_api_shows_stars_and_no_rate(small_month, client_for, commissioner):
    response = client_for(commissioner).get(reverse("api-stats"), small_month)

    assert response.status_code == 200
    body = response.json()
    row = body["dosing"]["rows"][0]
    assert (row["scheduled"], row["given"], row["missed"], row["attendance_rate"]) == (20, 20, "*", "*")
    assert "Counts from 1 to 7 are shown as *" in body["suppression"]
    assert "Secretname" not in response.content.decode()


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_every_count_is_zero_a_star_or_a_multiple_of_5_within_2_of_the_truth(count):
    shown = disclose(count)
    if 1 <= count <= 7:
        assert shown == SUPPRESSED
    else:
        assert shown % 5 == 0 and abs(shown - count) <= 2 and (shown == 0) == (count == 0)
