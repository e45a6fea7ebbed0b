"""Load: many nurses recording doses at once against gunicorn (issue 13, item 6). `python -m bench --load`.

Phases, each bounded in requests and in time (it stops at whichever comes first):

- `load.n1`, `load.n10`, `load.n50`: 1, 10 and 50 nurses in one clinic (the benchmark's own "Load"
  clinic in the scale database: new patients, so that any number of doses is possible);
- `load.clinics10x5`: 10 clinics with 5 nurses each, dosing seed_scale's patients with years of
  history in their own clinics (bench.history);
- `load.trivial_get`: GET /api/v1/me/ (signed in, one small read) with as many clients as the
  10-clinic phase, in the same run: the dose throughput is judged against it (>= 0.4x). The two
  alternate (bench.suite.ROUNDS rounds of doses, a GET phase before and after each), so that a
  slower spell of the machine weighs on both.

Throughput is counted two ways: over the whole phase, and while every client is still busy ("steady":
from the start until the first client runs out of work; of several phases, their answers over their
times). The tail of a phase, when fewer clients are left than the cores can serve, costs the slower
request more; the ratio is judged on the steady figures and both are reported.

Each nurse is a thread with its own signed-in session, taking the next ready slot of their clinic and
POSTing the witnessed dose (witness PIN). Afterwards the database is checked: exactly one
administration per slot dosed (and none for a refused one), every register of the clinics
balanced entry by entry, and each dose's register lines adding up to the dose.
"""

import os
import queue
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .client import Staff
from .data import PIN
from .report import NO_SAMPLES, Durations, percentiles

TIME_LIMIT_S = 120.0
CLIENT_TIMEOUT_S = 60.0  # a request unanswered by then counts as an error whose outcome is unknown


@dataclass
class Phase:
    """What one phase did: per-request client and server times, statuses, slots dosed and refused."""

    name: str
    clients: int
    durations: Durations = field(default_factory=Durations)
    errors: list = field(default_factory=list)
    dosed: list = field(default_factory=list)  # slot ids answered 201
    refused: list = field(default_factory=list)  # slot ids answered otherwise
    unknown: list = field(default_factory=list)  # no answer (timeout, connection): dosed or not, never twice
    wall_s: float = 0.0
    started: float = 0.0  # time.monotonic() at the start
    answered_at: list = field(default_factory=list)  # time.monotonic() of each answer counted in `durations`
    first_idle: float | None = None  # when the first client ran out of work (or time)
    cpu_ms: dict = field(default_factory=dict)  # CPU used during the phase by part of the machine (cpu_by_part)
    lock: threading.Lock = field(default_factory=threading.Lock)

    steady: list = field(default_factory=list)  # (answers, seconds) while every client was busy, per phase run

    def steady_throughput(self) -> float:
        """Answers per second while every client was still busy (see the module's docstring)."""
        answered, seconds = map(sum, zip(*self.steady_windows(), strict=True)) if self.steady_windows() else (0, 0)
        return round(answered / seconds, 1) if seconds and answered else 0.0

    def steady_windows(self) -> list[tuple[int, float]]:
        if self.steady:
            return self.steady
        end = self.first_idle if self.first_idle is not None else self.started + self.wall_s
        return [(sum(1 for at in self.answered_at if at <= end), max(0.0, end - self.started))]

    def summary(self, target_p95: float | None = None) -> dict:
        cuts = percentiles(list(self.durations))
        server = percentiles(self.durations.server)
        done = len(self.durations)
        return {
            "clients": self.clients,
            "requests": done + len(self.errors),
            "ok": done,
            "errors": len(self.errors),
            "first_errors": self.errors[:3],
            "throughput_per_s": round(done / self.wall_s, 1) if self.wall_s else 0.0,
            "steady_per_s": self.steady_throughput(),
            "wall_s": round(self.wall_s, 1),
            **{f"p{q}_ms": cuts.get(q) for q in (50, 95, 99)},
            **{f"server_p{q}_ms": server.get(q) for q in (50, 95, 99)},
            "target_server_p95_ms": target_p95,
            "met": None if target_p95 is None or not done else (not self.errors and server.get(95, 0) <= target_p95),
            **{f"cpu_ms_per_request_{part}": round(ms / done, 2) for part, ms in self.cpu_ms.items() if done},
            **({"error": NO_SAMPLES} if not done else {}),  # nothing answered: not a pass (bench.report.unmeasured)
        }


def _worker(phase: Phase, staff: Staff, witness_pk: int, work: queue.Queue, deadline: float, expect: int, send):
    while time.monotonic() < deadline:
        try:
            item = work.get_nowait()
        except queue.Empty:
            break
        started = time.perf_counter()
        try:
            response = send(staff, witness_pk, item)
        except Exception as error:  # a load test counts every failure, of any kind
            with phase.lock:
                phase.errors.append(f"{type(error).__name__}: {error}"[:200])
                phase.unknown.append(item)
            continue
        elapsed = (time.perf_counter() - started) * 1000
        with phase.lock:
            if response.status_code == expect:
                phase.durations.record(elapsed, response)
                phase.answered_at.append(time.monotonic())
                phase.dosed.append(item)
            else:
                phase.errors.append(f"{response.status_code}: {response.text[:200]}")
                phase.refused.append(item)
    with phase.lock:
        now = time.monotonic()
        phase.first_idle = now if phase.first_idle is None else min(phase.first_idle, now)


def cpu_by_process() -> dict[tuple[str, int], float]:
    """CPU time used so far (ms) by each of the app's server processes (gunicorn), PostgreSQL's processes and
    this benchmark client, read from /proc, keyed (part, pid): on a machine with every core busy, what each
    request costs whom. `cpu_by_part` turns two readings into each part's CPU between them."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        name, fields = text[text.index("(") + 1 : text.rindex(")")], text.rpartition(")")[2].split()
        if stat.parent.name == str(os.getpid()):
            part = "client"
        elif name == "postgres" or command.startswith(b"postgres"):
            part = "postgres"
        elif b"gunicorn" in command:
            part = "server"
        else:
            continue
        used[(part, int(stat.parent.name))] = (int(fields[11]) + int(fields[12])) * 1000 / ticks
    return used


def cpu_by_part(before: dict, after: dict) -> dict[str, float]:
    """Each part's CPU between two `cpu_by_process` readings: a process that ended meanwhile is left out (its
    time went with it), one that started counts whole."""
    parts = {"server": 0.0, "postgres": 0.0, "client": 0.0}
    for (part, pid), used in after.items():
        parts[part] += used - before.get((part, pid), 0.0)
    return parts


def _dose(staff: Staff, witness_pk: int, item):
    slot_id, dose_mg = item
    body = {"dose_mg": str(dose_mg), "route": "iv", "injection_site": "left_arm", "witness": witness_pk,
            "witness_password": PIN}  # fmt: skip
    return staff.post_json(f"/api/v1/dosing/slots/{slot_id}/administration/", body, timeout=CLIENT_TIMEOUT_S)


def run(name: str, teams: list[tuple[list[Staff], int, list]], *, time_limit: float = TIME_LIMIT_S,
        send=_dose, expect: int = 201) -> Phase:  # fmt: skip
    """Run every team at once: (nurses, witness id, work items of their clinic); each nurse a thread."""
    phase = Phase(name=name, clients=sum(len(nurses) for nurses, _, _ in teams))
    threads = []
    deadline = time.monotonic() + time_limit
    for nurses, witness_pk, items in teams:
        work = queue.Queue()
        for item in items:
            work.put(item)
        threads += [
            threading.Thread(target=_worker, args=(phase, nurse, witness_pk, work, deadline, expect, send))
            for nurse in nurses
        ]
    cpu_before = cpu_by_process()
    started = time.perf_counter()
    phase.started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.wall_s = time.perf_counter() - started
    phase.cpu_ms = cpu_by_part(cpu_before, cpu_by_process())
    return phase


def combined(phases: list[Phase]) -> Phase:
    """Several runs of one phase as one: their answers and errors together, throughputs over their summed times."""
    whole = Phase(name=phases[0].name, clients=phases[0].clients)
    for phase in phases:
        whole.durations.extend(phase.durations)
        whole.durations.server.extend(phase.durations.server)
        for name in ("errors", "dosed", "refused", "unknown"):
            getattr(whole, name).extend(getattr(phase, name))
        whole.wall_s += phase.wall_s
        for part, used in phase.cpu_ms.items():
            whole.cpu_ms[part] = whole.cpu_ms.get(part, 0.0) + used
        whole.steady += phase.steady_windows()
    return whole


def trivial_gets(name: str, staff: list[Staff], requests: int, *, time_limit: float = TIME_LIMIT_S) -> Phase:
    """GET /api/v1/me/ from every client at once, `requests` in all: the app's floor for a signed-in request."""
    return run(name, [([s], 0, [None] * (requests // len(staff))) for s in staff], time_limit=time_limit,
               send=lambda s, _w, _i: s.get("/api/v1/me/", timeout=CLIENT_TIMEOUT_S), expect=200)  # fmt: skip


def verify(phases: list[Phase], clinic_ids: list[int]) -> dict:
    """The database after the load: one administration per slot dosed, none per refused, balanced registers."""
    from django.db.models import Count, Q

    from cd_register.models import Register, RegisterEntry
    from dosing.models import Administration

    dosed = [slot for phase in phases for slot, _ in phase.dosed]
    refused = [slot for phase in phases for slot, _ in phase.refused]
    unknown = [slot for phase in phases for slot, _ in phase.unknown]
    counts = dict(
        Administration.objects.filter(slot_id__in=dosed + refused + unknown, corrects__isnull=True)
        .values_list("slot_id")
        .annotate(n=Count("id"))
        .values_list("slot_id", "n")
    )
    wrong_slots = (
        [s for s in dosed if counts.get(s) != 1]
        + [s for s in refused if counts.get(s)]
        + [s for s in unknown if counts.get(s, 0) > 1]
    )
    unbalanced = []
    for register in Register.objects.filter(clinic_id__in=clinic_ids):
        running, expected_sequence = Decimal(0), 1
        for sequence, quantity, after in register.entries.order_by("sequence").values_list(
            "sequence", "quantity", "balance_after"
        ):
            running += quantity
            if sequence != expected_sequence or after != running:
                unbalanced.append(f"register {register.pk} entry {sequence}")
                break
            expected_sequence += 1
        if running != register.balance:
            unbalanced.append(f"register {register.pk}: balance {register.balance}, entries add up to {running}")
    lines_wrong = []
    strengths = dict(Register.objects.filter(clinic_id__in=clinic_ids).values_list("pk", "strength_mg"))
    drawn: dict[int, Decimal] = {}
    for ref, register_id, quantity, waste in RegisterEntry.objects.filter(
        Q(administration_ref__in=list(Administration.objects.filter(slot_id__in=dosed).values_list("pk", flat=True)))
    ).values_list("administration_ref", "register_id", "quantity", "waste_mg"):
        drawn[ref] = drawn.get(ref, Decimal(0)) - quantity * strengths[register_id] - (waste or 0)
    for pk, dose_mg in Administration.objects.filter(slot_id__in=dosed).values_list("pk", "dose_mg"):
        if drawn.get(pk) != dose_mg:
            lines_wrong.append(f"administration {pk}: {dose_mg} mg given, register lines {drawn.get(pk)} mg")
    return {
        "slots_dosed": len(dosed),
        "slots_refused": len(refused),
        "slots_unanswered": len(unknown),
        "slots_unanswered_dosed": sum(1 for s in unknown if counts.get(s)),
        "one_administration_per_slot": not wrong_slots,
        "slots_wrong": wrong_slots[:10],
        "registers_checked": Register.objects.filter(clinic_id__in=clinic_ids).count(),
        "balances_exact": not unbalanced,
        "unbalanced": unbalanced[:10],
        "register_lines_match_doses": not lines_wrong,
        "lines_wrong": lines_wrong[:10],
    }
