"""NDTMS-style monthly export (issue 15, item 7): the clinic manager's, never the commissioner's."""

import csv
import io
import re
from pathlib import Path

import pytest
from django.urls import reverse

from patients.models import AccessLogEntry
from reports.ndtms import COLUMNS

pytestmark = pytest.mark.django_db


def _rows(response):
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_manager_gets_a_row_per_episode_open_in_the_month(outcome_history, referral_history, client_for, manager):
    clinic = outcome_history[1].clinic
    response = client_for(manager).get(reverse("reports-ndtms"), {"clinic": clinic.pk, "month": "2026-03"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="ndtms-mbro-2026-03.csv"'
    header = response.content.decode().splitlines()[0].split(",")
    assert header == list(COLUMNS)
    rows = {row["client_reference"]: row for row in _rows(response)}
    # March 2026: P6 (2025), P4 (discharged 5 Mar), P1, P2 (10 Mar), P3's second episode (20 Mar).
    p = outcome_history
    assert set(rows) == {f"MBRO-{p[n].pk:06d}" for n in (1, 2, 3, 4, 6)}
    p4 = rows[f"MBRO-{p[4].pk:06d}"]
    assert (p4["discharge_date"], p4["discharge_reason"], p4["discharge_reason_code"]) == (
        "2026-03-05",
        "moved_away",
        "84",
    )
    p3 = rows[f"MBRO-{p[3].pk:06d}"]
    assert (p3["top_date"], p3["top_stage"], p3["top_heroin_days"], p3["top_acute_housing_problem"]) == (
        "2026-03-20",
        "start",
        "28",
        "Y",
    )
    p2 = rows[f"MBRO-{p[2].pk:06d}"]
    assert (p2["referral_source"], p2["referral_date"], p2["treatment_start"]) == ("gp", "2026-03-02", "2026-03-10")
    text = response.content.decode()
    assert "Oneill" not in text and "Pat" not in text  # P1's names
    assert not any("nhs" in column for column in header)
    assert AccessLogEntry.objects.filter(user=manager, patient=p[4]).count() == 1


def test_a_commissioner_is_refused_the_export(outcome_history, client_for, commissioner):
    clinic = outcome_history[1].clinic
    response = client_for(commissioner).get(reverse("reports-ndtms"), {"clinic": clinic.pk, "month": "2026-03"})
    assert response.status_code == 403
    assert not AccessLogEntry.objects.exists()


def test_another_clinic_is_not_found_and_a_bad_month_is_explained(client_for, manager, other_clinic, clinic):
    client = client_for(manager)
    assert client.get(reverse("reports-ndtms"), {"clinic": other_clinic.pk, "month": "2026-03"}).status_code == 404
    bad = client.get(reverse("reports-ndtms"), {"clinic": clinic.pk, "month": "March"})
    assert bad.status_code == 400 and "month: Enter a month as YYYY-MM." in bad.content.decode()


def test_every_column_is_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "ndtms-export.md").read_text()
    documented = set(re.findall(r"`(\w+)`", doc))
    tops = {c for c in COLUMNS if c.startswith("top_") and c not in documented}
    # The days-of-use block is documented as a range (heroin ... alcohol); every other column by name.
    assert tops <= {
        "top_other_opiate_days",
        "top_crack_days",
        "top_cocaine_days",
        "top_amphetamine_days",
        "top_cannabis_days",
    }
    assert {c for c in COLUMNS if not c.startswith("top_")} <= documented
