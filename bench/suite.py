"""The load phases and the board-polling run of `python -m bench --load --boards` (issue 13, item 6).

Data: `prepare_load` makes the "Load" clinic (new patients, one ready slot each, 50 nurses); the
10-clinic phase doses bench.history's patients in the scale clinics. Sessions are written straight
into the database (bench.client.Staff.session_of): hundreds of password hashes would measure sign-in.
"""

from . import load, polling
from .client import Staff

ONE_CLINIC = {"load.n1": 1, "load.n10": 10, "load.n50": 50}
# The 10-clinic phase in rounds, each between two trivial GET phases: a few seconds each, so that a slower spell
# of the machine (seen here: the same phase at 250 and at 500 requests a second minutes apart) weighs on both.
ROUNDS = 3


def load_doses(requests: int) -> dict[str, int]:
    """Doses per one-clinic phase: bounded, enough for every nurse to dose several times."""
    return {"load.n1": min(requests, 100), "load.n10": max(requests, 100), "load.n50": max(requests, 300)}


def prepare_load(*, stamp: str, now, requests: int):
    """The Load clinic with a ready slot per dose of the three one-clinic phases, and 50 of its nurses."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from clinics.models import User

    from .data import PASSWORD, clinic_with_patients

    site = clinic_with_patients(name="Load", stamp=stamp, patients=sum(load_doses(requests).values()), now=now,
                                mixed_board=False)  # fmt: skip
    hashed, group = make_password(PASSWORD), Group.objects.get(name="nurse")
    nurses = []
    for index in range(max(ONE_CLINIC.values())):
        user = User.objects.create(username=f"bench-nurse{index}-load-{stamp}", password=hashed, first_name="Nurse",
                                   last_name=f"Load {index}")  # fmt: skip
        user.groups.set([group])
        user.clinics.set([site.clinic])
        nurses.append(user)
    site.nurses = nurses
    return site


def run_load(base: str, sites, *, requests: int, per_clinic: int) -> tuple[dict, dict]:
    """(phase name -> figures, the database check): 1, 10, 50 nurses in one clinic; 10 clinics x 5; trivial GET."""
    site = sites["load"]
    sessions = [Staff.session_of(base, nurse) for nurse in site.nurses]
    results, phases = {}, []
    ready = [(slot, "100") for slot in site.slots]
    for name, nurses in ONE_CLINIC.items():
        count = load_doses(requests)[name]
        items, ready = ready[:count], ready[count:]
        print(f"bench: {name}: {nurses} nurses, {count} doses ...", flush=True)
        phase = load.run(name, [(sessions[:nurses], site.witness.pk, items)])
        phases.append(phase)
        results[name] = phase.summary(target_p95=100.0 if nurses == 50 else None)
    clinic_ids = [site.clinic.pk]
    history = sites.get("history")
    if history is not None and history.clinics:
        teams, rounds = [], [[] for _ in range(ROUNDS)]
        for work in history.clinics:
            items, work.slots = work.slots[:per_clinic], work.slots[per_clinic:]
            nurses = [Staff.session_of(base, nurse) for nurse in work.nurses]
            teams.append(nurses)
            for index in range(ROUNDS):  # each round doses its share of every clinic's patients
                rounds[index].append((nurses, work.witness.pk, items[index::ROUNDS]))
            clinic_ids.append(work.clinic.pk)
        every_nurse = [nurse for nurses in teams for nurse in nurses]
        doses = sum(len(items) for team in rounds[0] for _, _, items in [team])
        gets = max(doses, len(every_nurse)) * 2
        print(f"bench: load.clinics10x5: {len(teams)} clinics x {len(teams[0])} nurses, {ROUNDS} rounds of about "
              f"{doses} doses of patients with years of history, each between two trivial GET phases of {gets} "
              "requests ...", flush=True)  # fmt: skip
        got = [load.trivial_gets("load.trivial_get", every_nurse, gets)]
        dosed = []
        for teams_of_round in rounds:
            dosed.append(load.run("load.clinics10x5", teams_of_round))
            got.append(load.trivial_gets("load.trivial_get", every_nurse, gets))
        phases += dosed
        dose_phase, get_phase = load.combined(dosed), load.combined(got)
        results["load.clinics10x5"] = dose_phase.summary()
        results["load.trivial_get"] = get_phase.summary()
        # Each round against the mean of the GET phases either side of it: the machine's speed drifts.
        by_round = [
            round(dose.steady_throughput() / ((before.steady_throughput() + after.steady_throughput()) / 2), 2)
            for dose, before, after in zip(dosed, got, got[1:], strict=False)
        ]
        ratio = round(dose_phase.steady_throughput() / get_phase.steady_throughput(), 2) if got else None
        whole = get_phase.summary()["throughput_per_s"]
        results["load.clinics10x5"].update(
            ratio_to_trivial_get=ratio,
            ratio_whole_phases=round(dose_phase.summary()["throughput_per_s"] / whole, 2) if whole else None,
            ratio_by_round=by_round,
            target_ratio=0.4,
            met=bool(ratio and ratio >= 0.4 and not dose_phase.errors),
        )
    print("bench: checking the database after the load ...", flush=True)
    return results, load.verify(phases, clinic_ids)


def run_boards(base: str, sites, *, boards: int = 300, interval: float = 3.0, duration: float = 60.0) -> dict:
    """300 boards: a tenth on the board clinic, where a nurse doses its checked patients; the rest elsewhere."""
    from dosing.models import Slot, SlotStatus

    board_site = sites["board"]
    others = [work.nurses[0] for work in sites["history"].clinics] if sites.get("history") else []
    others = others or [sites["dose"].nurse]
    watched = max(1, boards // 10)
    print(f"bench: boards: signing in {boards} boards ({watched} on the dosing clinic) ...", flush=True)
    tablets = [polling.Board(Staff.session_of(base, board_site.nurse), watched=True) for _ in range(watched)]
    tablets += [
        polling.Board(Staff.session_of(base, others[index % len(others)]), watched=False)
        for index in range(boards - watched)
    ]
    slots = list(Slot.objects.filter(clinic=board_site.clinic, status=SlotStatus.CHECKED).values_list("pk", flat=True))
    nurse = Staff.session_of(base, board_site.nurse)
    print(f"bench: boards: {boards} boards polling every {interval:.0f} s for {duration:.0f} s, "
          f"{len(slots)} doses meanwhile ...", flush=True)  # fmt: skip
    return polling.run(base, tablets, nurse, board_site.witness.pk, slots, interval=interval, duration=duration)
