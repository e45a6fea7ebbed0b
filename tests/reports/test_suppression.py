"""Small-number suppression: counts 1-4 are '*', and so is anything from which one could be worked out.

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
from reports.suppression import SUPPRESSED, Cells, present
from tests.factories import PatientFactory, PrescriptionFactory
from tests.factories import reports as history

D = datetime.date


def test_a_small_count_is_a_star_zero_and_five_are_shown():
    cells = Cells()
    for key, value in (("a", 0), ("b", 3), ("c", 5)):
        cells.add(key, value)
    cells.solve()
    assert [cells.show(k) for k in "abc"] == [0, SUPPRESSED, 5]


def test_a_hidden_part_is_not_left_derivable_from_its_total():
    # total 20 = 12 + 3 + 5: with '3' hidden, 20 - 12 - 5 would give it away, so the smallest other part goes too.
    cells = Cells()
    cells.add("total", 20)
    for key, value in (("x", 12), ("y", 3), ("z", 5)):
        cells.add(key, value)
    cells.relation("total", ["x", "y", "z"])
    cells.solve()
    assert [cells.show(k) for k in ("total", "x", "y", "z")] == [20, 12, SUPPRESSED, SUPPRESSED]


def test_an_unseen_small_difference_hides_a_shown_figure():
    # A cohort of 12 with 9 retained: the 3 not retained are never shown but could be worked out.
    cells = Cells()
    cells.add("cohort", 12)
    cells.add("retained", 9)
    cells.add("lost", 3, unseen=True)
    cells.relation("cohort", ["retained", "lost"])
    cells.solve()
    assert cells.show("cohort") == 12
    assert cells.show("retained") == SUPPRESSED


def test_hiding_spreads_across_rows_and_columns_until_nothing_small_is_derivable():
    # A 2x2 table with margins: the '3' can be reached through rows and columns, not only its own row.
    cells = Cells()
    grid = {("r1", "c1"): 3, ("r1", "c2"): 10, ("r2", "c1"): 8, ("r2", "c2"): 9}
    for key, value in grid.items():
        cells.add(key, value)
    cells.add(("r1", "t"), 13)
    cells.add(("r2", "t"), 17)
    cells.add(("t", "c1"), 11)
    cells.add(("t", "c2"), 19)
    cells.add(("t", "t"), 30)
    for r in ("r1", "r2", "t"):
        cells.relation((r, "t"), [(r, "c1"), (r, "c2")])
    for c in ("c1", "c2", "t"):
        cells.relation(("t", c), [("r1", c), ("r2", c)])
    cells.solve()
    assert cells.show(("r1", "c1")) == SUPPRESSED
    assert workable_out(cells) & {("r1", "c1")} == set()


def workable_out(cells: Cells) -> set:
    """Everything a reader can work out from the shown figures, one relation at a time (an independent check)."""
    known = {key for key in cells.values if cells.show(key) != SUPPRESSED}
    changed = True
    while changed:
        changed = False
        for group in cells.groups:
            unknown = [key for key in group if key not in known]
            if len(unknown) == 1:
                known.add(unknown[0])
                changed = True
    return {key for key in known if cells.show(key) == SUPPRESSED}


@pytest.fixture
def small_month(clinic, nurse, second_nurse, prescriber):
    """March 2026: 7 sessions scheduled for 4 patients, 5 given and 2 missed.

    Neither 7 nor 5 is small, but 7 - 5 = 2 is: the missed count is '*', and so must be the
    attendance rate (5/7 would give the 2 away) and the given count (7 - 5 would).
    """
    nurses = {"nurse": nurse, "witness": second_nurse}
    for n, plan in enumerate(
        [
            [SlotStatus.GIVEN, SlotStatus.GIVEN],
            [SlotStatus.GIVEN, SlotStatus.MISSED],
            [SlotStatus.GIVEN, SlotStatus.MISSED],
            [SlotStatus.GIVEN],
        ]
    ):
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
    assert (stats.dosing[0].scheduled, stats.dosing[0].doses_given, stats.dosing[0].missed) == (7, 5, 2)

    row = present(stats)["dosing"]["rows"][0]
    assert row["scheduled"] == 7
    assert row["missed"] == SUPPRESSED
    assert row["given"] == SUPPRESSED
    assert row["attendance_rate"] == SUPPRESSED
    assert row["withheld"] == 0
    # 4 patients in treatment: the new starts are '*', and the mean dose of fewer than 5 people too.
    report = present(stats)
    assert report["patients"]["rows"][0]["in_treatment"] == SUPPRESSED
    assert row["mean_daily_dose_mg"]["diamorphine_inj"] == SUPPRESSED


def test_the_page_shows_stars_and_no_rate(small_month, client_for, commissioner):
    response = client_for(commissioner).get(reverse("reports-dashboard"), small_month)

    assert response.status_code == 200
    page = response.content.decode()
    row = page.split('<th scope="row">Mar 2026</th>', 1)[1].split("</tr>", 1)[0]
    assert row.count("<td>*</td>") >= 3  # given, attendance rate, missed
    assert "71.4%" not in page and "28.6%" not in page  # 5/7 and 2/7
    assert "Secretname" not in page


def test_the_csv_shows_stars_and_no_rate(small_month, client_for, commissioner):
    response = client_for(commissioner).get(reverse("reports-csv"), small_month)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    march = {r["measure"]: r["value"] for r in rows if r["section"] == "dosing" and r["period"] == "Mar 2026"}
    assert march["sessions scheduled"] == "7"
    assert march["sessions missed"] == "*"
    assert march["sessions given"] == "*"
    assert march["attendance rate"] == "*"
    assert march["sessions withheld"] == "0"


def test_the_api_shows_stars_and_no_rate(small_month, client_for, commissioner):
    response = client_for(commissioner).get(reverse("api-stats"), small_month)

    assert response.status_code == 200
    row = response.json()["dosing"]["rows"][0]
    assert (row["scheduled"], row["given"], row["missed"], row["attendance_rate"]) == (7, "*", "*", "*")
    assert "Secretname" not in response.content.decode()


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.integers(min_value=0, max_value=12), min_size=2, max_size=5), min_size=2, max_size=6).filter(
        lambda rows: len({len(r) for r in rows}) == 1
    ),
    st.booleans(),
)
def test_no_small_count_can_be_worked_out_of_any_table_with_margins(rows, last_column_unseen):
    """Random tables with row and column totals (a last column nobody sees, sometimes): nothing small leaks."""
    cells = Cells()
    width = len(rows[0])
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            cells.add((r, c), value, unseen=last_column_unseen and c == width - 1)
        cells.add((r, "t"), sum(row))
        cells.relation((r, "t"), [(r, c) for c in range(width)])
    for c in range(width):
        cells.add(("t", c), sum(row[c] for row in rows), unseen=last_column_unseen and c == width - 1)
        cells.relation(("t", c), [(r, c) for r in range(len(rows))])
    cells.add(("t", "t"), sum(map(sum, rows)))
    cells.relation(("t", "t"), [(r, "t") for r in range(len(rows))])
    cells.relation(("t", "t"), [("t", c) for c in range(width)])
    cells.solve()

    small = {key for key, value in cells.values.items() if 1 <= value <= 4}
    assert all(cells.show(key) == SUPPRESSED for key in small)
    assert workable_out(cells) & small == set()
