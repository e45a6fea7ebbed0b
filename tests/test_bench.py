"""The benchmark's data makes what it says, on a small scale, and it never writes into a database not meant for it.

Timings are never asserted here: `make bench` measures them.
"""

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from bench import data, database, history, load, polling, report
from dosing.models import Slot, SlotStatus
from onward.api_common import keyset_page
from onward.models import OnwardReferral
from onward.selectors import onward_referrals_for_partner
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
    assert onward_referrals_for_partner(site.partner, clinic=sites["board"].clinic, at=NOW).count() == 25
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
        onward_referrals_for_partner(site.partner, clinic=sites["board"].clinic, at=NOW),
        {"updated_since": site.updated_since},
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


# --- issue 13: patients with history, the load check, the polling check, the verdicts --------------------------


def _clinic_with_yesterday(stamp: str):
    """A "scale" clinic of 4 patients: 3 dosed yesterday (the third then put on hold), the fourth never dosed."""
    from dosing import services
    from dosing.models import Hold, Slot

    yesterday = NOW - timedelta(days=1)
    site = data.clinic_with_patients(name="Hist", stamp=stamp, patients=4, now=yesterday, mixed_board=False)
    site.clinic.code = "scale-01"
    site.clinic.save(update_fields=["code"])
    slots = list(Slot.objects.filter(pk__in=site.slots).select_related("clinic", "patient", "prescription"))
    for slot in slots[:3]:
        services.administer_dose(slot=slot, nurse=site.nurse, dose_mg=Decimal("100"), route="iv",
                                 injection_site="left_arm", witness=site.witness, witness_password=data.PIN,
                                 now=yesterday)  # fmt: skip
    Hold.objects.create(patient=slots[2].patient, prescription=slots[2].prescription, since=NOW, missed_days=3,
                        missed_since=yesterday.date(), reason="S7 · test")  # fmt: skip
    return slots


def test_history_readies_only_patients_a_dose_may_be_given_to_and_their_doses_are_accepted(db):
    from dosing import services
    from dosing.models import Administration, Slot

    slots = _clinic_with_yesterday(STAMP)

    ready = history.prepare(per_clinic=10, nurses_per_clinic=2, stamp=STAMP, now=NOW)

    site = ready.clinics[0]
    chosen = Slot.objects.filter(pk__in=[pk for pk, _ in site.slots])
    assert sorted(chosen.values_list("patient_id", flat=True)) == sorted(s.patient_id for s in slots[:2])
    assert all(s.window_start < NOW < s.window_end and s.status == "checked" for s in chosen)
    for pk, dose_mg, witness in ready.take("pin", 10):
        slot = Slot.objects.select_related("clinic", "patient", "prescription").get(pk=pk)
        services.administer_dose(slot=slot, nurse=ready.nurse, dose_mg=dose_mg, route="iv", injection_site="left_arm",
                                 witness=site.witness, witness_password=data.PIN, now=NOW)  # fmt: skip
        assert witness == site.witness.pk
    assert Administration.objects.filter(slot__in=chosen).count() == 2
    assert ready.ready() == 0


def test_the_load_check_finds_exact_balances_and_one_dose_per_slot_and_says_when_not(db):
    from cd_register.models import Register

    slots = _clinic_with_yesterday(STAMP)
    phase = load.Phase(name="x", clients=1)
    phase.dosed = [(slot.pk, "100") for slot in slots[:2]]
    phase.unknown = [(slots[2].pk, "100")]  # no answer came back: dosed once, which is allowed
    phase.refused = [(slots[3].pk, "100")]
    clinic_ids = [slots[0].clinic_id]

    good = load.verify([phase], clinic_ids)
    assert (good["one_administration_per_slot"], good["balances_exact"], good["register_lines_match_doses"]) == (
        True, True, True)  # fmt: skip
    assert (good["slots_unanswered"], good["slots_unanswered_dosed"]) == (1, 1)
    phase.unknown = []

    phase.dosed, phase.refused = [*phase.dosed[:2], (slots[3].pk, "100")], [(slots[2].pk, "100")]
    Register.objects.filter(clinic_id__in=clinic_ids, strength_mg=100).update(balance=1)
    bad = load.verify([phase], clinic_ids)
    assert bad["slots_wrong"] == [slots[3].pk, slots[2].pk]
    assert not bad["balances_exact"] and "entries add up to" in bad["unbalanced"][0]


def test_a_board_saw_a_dose_only_when_its_first_poll_after_the_dose_shows_it():
    board = polling.Board.__new__(polling.Board)
    board.polls = [(1.0, 1.1, 200), (4.0, 4.1, 304), (7.0, 7.1, 200)]
    board.shown = [(1.1, frozenset()), (7.1, frozenset({5}))]

    assert not board.saw(5, dosed_at=2.0)  # the poll at 4.0 answered 304 from a copy without the dose
    assert board.saw(5, dosed_at=5.0)  # the poll at 7.0 brought it
    board.shown = [(1.1, frozenset({5}))]
    assert board.saw(5, dosed_at=2.0)  # the copy already showed it (the poll at 1.0 saw the commit)


def test_the_load_table_marks_a_missed_ratio_and_a_missed_server_target():
    missed = {"clients": 50, "ok": 10, "errors": 0, "throughput_per_s": 5.0, "ratio_to_trivial_get": 0.18,
              "target_ratio": 0.4, "met": False}  # fmt: skip
    fast = {"clients": 50, "ok": 10, "errors": 0, "throughput_per_s": 5.0, "server_p95_ms": 80.0,
            "target_server_p95_ms": 100.0, "met": True}  # fmt: skip

    lines = report.load_table({"load.clinics10x5": missed, "load.n50": fast}).splitlines()

    assert lines[1].endswith("0.18x trivial GET (>= 0.4x): MISSED")
    assert lines[2].endswith("server p95 <= 100 ms: met")
    by_round = {**missed, "ratio_to_trivial_get": 0.41, "ratio_by_round": [0.38, 0.44], "ratio_whole_phases": 0.4,
                "met": True}  # fmt: skip
    assert (
        report.load_table({"load.clinics10x5": by_round})
        .splitlines()[1]
        .endswith("0.41x trivial GET (0.38x, 0.44x, whole phases 0.4x; >= 0.4x): met")
    )


def test_cpu_between_two_readings_leaves_out_a_process_that_ended_and_counts_a_new_one_whole():
    before = {("postgres", 10): 500.0, ("postgres", 11): 3000.0, ("server", 20): 100.0}
    after = {("postgres", 10): 520.0, ("postgres", 12): 7.0, ("server", 20): 160.0, ("client", 30): 5.0}

    assert load.cpu_by_part(before, after) == {"postgres": 27.0, "server": 60.0, "client": 5.0}


def test_steady_throughput_counts_only_while_every_client_is_busy_and_rounds_add_up():
    """Answers after the first client ran out of work (the tail) do not count; rounds: answers over summed times."""
    first, second = load.Phase(name="x", clients=2), load.Phase(name="x", clients=2)
    first.started, first.first_idle, first.wall_s = 100.0, 102.0, 5.0
    first.answered_at = [100.5, 101.0, 101.5, 102.0, 104.0, 105.0]  # two in the tail
    second.started, second.first_idle, second.wall_s = 200.0, 203.0, 3.0
    second.answered_at = [201.0, 202.0, 203.0]

    assert first.steady_throughput() == 2.0  # 4 answers in 2 s, not 6 in 5 s
    assert load.combined([first, second]).steady_throughput() == 1.4  # (4 + 3) answers in (2 + 3) s


# --- an empty sample fails the run; seed_scale's patients can be dosed (S14) ----------------------------------


def test_an_empty_sample_is_a_row_that_says_no_samples_and_is_named_as_unmeasured():
    empty = report.summarise(report.Durations(), 40.0)

    assert (empty["requests"], empty["p95_ms"], empty["met"], empty["error"]) == (0, None, None, "no samples")
    line = report.table({"dosing.record_dose": {**empty, "target_source": "issue 13", "database": "x"}}).splitlines()[1]
    assert "NO SAMPLES" in line and "met" not in line.replace("NO SAMPLES", "")
    measured = report.summarise([10.0, 20.0], 40.0)
    assert report.unmeasured({"dosing.record_dose": empty, "dosing.board_page": measured}) == ["dosing.record_dose"]


def test_a_load_phase_or_polling_run_with_nothing_answered_is_unmeasured_not_met():
    phase = load.Phase(name="load.n50", clients=50)
    phase.wall_s = 1.0

    summary = phase.summary(target_p95=100.0)

    assert (summary["met"], summary["error"]) == (None, "no samples")
    assert report.unmeasured({"load.n50": summary}) == ["load.n50"]
    assert report.load_table({"load.n50": summary}).splitlines()[1].endswith("NO SAMPLES")


def test_the_benchmark_exits_non_zero_naming_the_row_that_has_no_samples(sites, monkeypatch, capsys):
    """The whole `python -m bench` run: a measurement that measured nothing fails it (it used to raise IndexError)."""
    import bench.__main__ as main
    from bench import server

    monkeypatch.setitem(main.MEASUREMENTS, "partner.referrals", (lambda *a, **k: report.Durations(), 100.0, "t"))
    monkeypatch.setattr(main, "_database", lambda args: ("postgres://postgres@127.0.0.1:5432/hat_clinic_bench", False))
    monkeypatch.setattr(database, "migrate", lambda: None)
    monkeypatch.setattr(database, "row_counts", lambda url: {})
    for key in ("SECRET_KEY", "ALLOWED_HOSTS", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "DATABASE_URL"):
        if key in os.environ:  # main() sets these for its gunicorn: put them back afterwards
            monkeypatch.setenv(key, os.environ[key])
        else:
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(data, "load", lambda **kwargs: sites)
    monkeypatch.setattr(server, "gunicorn", _no_server)
    monkeypatch.setattr(report, "write", lambda results, **kw: report.RESULTS / "bench-test.json")

    code = main.main(["--only", "partner.referrals", "--requests", "3", "--warmup", "0"])

    out, err = capsys.readouterr()
    assert code == 1
    assert "partner.referrals" in out and "NO SAMPLES" in out
    assert "FAILED: no samples for partner.referrals" in err


class _no_server:
    def __init__(self, url, workers):
        pass

    def __enter__(self):
        return "http://127.0.0.1:9"

    def __exit__(self, *exc):
        return False


def test_seed_scale_patients_are_readied_and_dosed_and_none_without_a_licence(db):
    """S14: seed_scale records each prescriber's licence, so the benchmark's dose step really doses its patients."""
    import io

    from django.core.management import call_command
    from django.utils import timezone

    from dosing import services
    from dosing.models import Administration, PrescriberLicence, Slot

    call_command("seed_scale", "--clinics", "1", "--patients", "3", "--years", "1", stdout=io.StringIO())
    now = timezone.now()

    ready = history.prepare(per_clinic=3, nurses_per_clinic=1, stamp=STAMP, now=now)

    assert ready.ready() > 0
    site = ready.clinics[0]
    for pk, dose_mg, _witness in ready.take("pin", 3):
        slot = Slot.objects.select_related("clinic", "patient", "prescription").get(pk=pk)
        services.administer_dose(slot=slot, nurse=site.nurses[0], dose_mg=dose_mg, route="iv",
                                 injection_site="left_arm", witness=site.witness, witness_password=data.PIN,
                                 now=now)  # fmt: skip
        assert Administration.objects.filter(slot=slot).count() == 1

    PrescriberLicence.objects.all().delete()  # a lapsed (here: absent) licence: no dose may be given (S14)
    assert history.prepare(per_clinic=3, nurses_per_clinic=1, stamp=STAMP + "x", now=now).ready() == 0
