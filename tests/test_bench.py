"""The benchmark's data makes what it says, on a small scale, and it never writes into a database not meant for it.

Timings are never asserted here: `make bench` measures them.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum

from bench import data, database, report
from dosing.models import Slot, SlotStatus
from referrals.api_common import keyset_page
from referrals.models import OnwardReferral
from referrals.onward_selectors import onward_referrals_for_partner
from reports.models import DailySessionStats
from tests.factories import ClinicFactory

NOW = datetime(2026, 11, 21, 11, 30, tzinfo=UTC)
STAMP = "20261121113000"


@pytest.fixture
def sites(db):
    return data.load(patients=12, doses=3, referrals=25, stamp=STAMP, now=NOW)


def test_load_makes_a_board_of_every_stage_and_slots_ready_to_dose(sites):
    board, dose = sites["board"], sites["dose"]
    assert Slot.objects.filter(clinic=board.clinic).count() == len(board.slots) == 12
    assert {s.status for s in Slot.objects.filter(clinic=board.clinic)} >= {
        SlotStatus.SCHEDULED,
        SlotStatus.ARRIVED,
        SlotStatus.CHECKED,
        SlotStatus.GIVEN,
        SlotStatus.WITHHELD,
    }
    assert list(Slot.objects.filter(clinic=dose.clinic).values_list("status", flat=True)) == [SlotStatus.CHECKED] * 3
    assert board.clinic.code.startswith(data.BENCH_CODE_PREFIX) and len(board.clinic.code) <= 20


def test_the_partner_sees_exactly_its_referrals_with_live_consent(sites):
    site = sites["partner"]
    addressed = OnwardReferral.objects.filter(partner=site.partner)

    # Every 10th of the 12 patients (the 1st and the 11th) withdrew consent: their referrals are hidden.
    assert (site.referrals, site.hidden) == (25, 2)
    assert addressed.count() == 27
    assert onward_referrals_for_partner(site.partner, at=NOW).count() == 25
    assert OnwardReferral.objects.exclude(partner=site.partner).filter(clinic=sites["board"].clinic).count() == 25
    assert set(addressed.values_list("status", flat=True)) == {
        "sent",
        "acknowledged",
        "appointment_booked",
        "attended",
        "did_not_attend",
        "closed",
    }


def test_updated_since_a_week_ago_finds_the_referrals_changed_in_that_week(sites):
    site = sites["partner"]
    rows, next_cursor = keyset_page(
        onward_referrals_for_partner(site.partner, at=NOW), {"updated_since": site.updated_since}
    )

    assert site.updated_since == NOW - timedelta(days=7)
    assert 0 < site.updated_recently < site.referrals
    assert (len(rows), next_cursor) == (site.updated_recently, None)


def test_refreshing_the_benchmark_summaries_counts_its_slots(sites):
    data.refresh_bench_summaries()

    board = sites["board"].clinic
    assert DailySessionStats.objects.filter(clinic=board).aggregate(slots=Sum("slots"))["slots"] == 12


def test_a_database_with_only_scale_and_benchmark_clinics_may_take_benchmark_data(sites):
    ClinicFactory(name="Scale clinic 01", code="scale-01")

    database.check_scale_database()


def test_a_database_without_scale_data_is_refused(sites):
    with pytest.raises(SystemExit, match="no scale data"):
        database.check_scale_database()


def test_a_database_with_other_clinics_is_refused(db):
    ClinicFactory(name="Scale clinic 01", code="scale-01")
    ClinicFactory(name="Middlesbrough HAT Clinic", code="mbro")

    with pytest.raises(SystemExit, match=r"not seed_scale's \(mbro\)"):
        database.check_scale_database()


def test_the_table_names_the_database_and_its_row_counts():
    result = {**report.summarise([10.0, 20.0, 30.0], 150.0), "target_source": "ours", "database": "hat_x",
              "rows": {"dosing_slot": 5283050, "dosing_administration": 4773687}}  # fmt: skip

    line = report.table({"partner.referrals": result}).splitlines()[1]

    assert "150 ours" in line and "met" in line
    assert line.endswith("hat_x (5,283,050 / 4,773,687)")
