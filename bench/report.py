"""Percentiles, the printed table and the JSON record of a run."""

import json
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "bench-results"


class Durations(list):
    """Client wall times in ms, and `server`: the app's own time of the same requests (Server-Timing header)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.server: list[float] = []

    def record(self, elapsed_ms: float, response=None) -> None:
        self.append(elapsed_ms)
        timing = response.headers.get("Server-Timing", "") if response is not None else ""
        if timing.startswith("app;dur="):
            self.server.append(float(timing.removeprefix("app;dur=")))


def _percentiles(durations: list[float]) -> list[float]:
    return statistics.quantiles(durations, n=100, method="inclusive") if len(durations) > 1 else durations * 99


NO_SAMPLES = "no samples"


def summarise(durations: list[float], target: float | None = None) -> dict:
    """Percentiles of the client's times and, for HTTP measurements, of the server's own times.

    The targets are about server time ("recording a dose p95 <= 50 ms server time", issue 4), so
    a target is judged on the server p95 where there is one: the client time adds the loopback
    HTTP and the benchmark client itself competing with gunicorn for the machine's two cores.

    An empty sample (nothing was measured, e.g. no patient ready to dose) is a row that says so,
    with no figures and no verdict: `unmeasured` names it and the run fails (`python -m bench`).
    """
    if not durations:
        return {
            "requests": 0,
            **dict.fromkeys(("p50_ms", "p95_ms", "max_ms", "mean_ms", "server_p50_ms", "server_p95_ms")),
            "target_p95_ms": target,
            "met": None,
            "error": NO_SAMPLES,
        }
    cuts = _percentiles(durations)
    server = getattr(durations, "server", [])
    server_cuts = _percentiles(server) if server else None
    judged = server_cuts[94] if server_cuts else cuts[94]
    return {
        "requests": len(durations),
        "p50_ms": round(cuts[49], 2),
        "p95_ms": round(cuts[94], 2),
        "max_ms": round(max(durations), 2),
        "mean_ms": round(statistics.fmean(durations), 2),
        "server_p50_ms": round(server_cuts[49], 2) if server_cuts else None,
        "server_p95_ms": round(server_cuts[94], 2) if server_cuts else None,
        "target_p95_ms": target,
        "met": None if target is None else judged <= target,
    }


def table(results: dict[str, dict]) -> str:
    """One line per measurement: percentiles, the target and its source, the database and its row counts then."""
    lines = [
        f"{'measurement':<32} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'server p50':>10} {'server p95':>10} "
        f"{'target':>13}  {'result':<6}  "
        "database (dosing_slot / dosing_administration rows)"
    ]
    for name, row in results.items():
        target = f"{row['target_p95_ms']:.0f} {row.get('target_source', '')}".strip() if row["target_p95_ms"] else "-"
        verdict = _verdict(row)
        counts = row.get("rows")
        where = row.get("database", "") + (f" ({' / '.join(f'{n:,}' for n in counts.values())})" if counts else "")
        lines.append(
            f"{name:<32} {row['requests']:>5} {_ms(row['p50_ms']):>8} {_ms(row['p95_ms']):>8} {_ms(row['max_ms']):>8} "
            f"{_ms(row.get('server_p50_ms')):>10} {_ms(row.get('server_p95_ms')):>10} "
            f"{target:>13}  {verdict:<6}  {where}"
        )
    return "\n".join(lines)


def _verdict(row: dict) -> str:
    if row.get("error") == NO_SAMPLES:
        return NO_SAMPLES.upper()
    return {True: "met", False: "MISSED", None: ""}[row.get("met")]


def unmeasured(*tables: dict[str, dict]) -> list[str]:
    """The names of the rows (measurements, load phases, the polling run) that have no samples."""
    return [name for table in tables for name, row in table.items() if row.get("error") == NO_SAMPLES]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def write(results: dict[str, dict], *, setup: dict, comparisons: dict | None = None) -> Path:
    RESULTS.mkdir(exist_ok=True)
    now = datetime.now(UTC)
    path = RESULTS / f"bench-{now:%Y%m%dT%H%M%SZ}.json"
    record = {
        "at": now.isoformat(),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": _cpus()},
        "setup": setup,
        "results": results,
        "comparisons": comparisons or {},
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def _cpus() -> int | None:
    import os

    return os.cpu_count()


def percentiles(durations: list[float]) -> dict[int, float]:
    """{50: p50, 95: p95, 99: p99} in ms, rounded; {} when there is nothing to cut."""
    if not durations:
        return {}
    cuts = _percentiles(durations)
    return {q: round(cuts[q - 1], 2) for q in (50, 95, 99)}


PERCENTILE_KEYS = ("p50_ms", "p95_ms", "p99_ms", "server_p50_ms", "server_p95_ms", "server_p99_ms")


def load_table(phases: dict[str, dict]) -> str:
    """The load phases: clients, requests, errors, throughput, client and server percentiles, the verdict."""
    lines = [
        f"{'phase':<24} {'clients':>7} {'ok':>6} {'errors':>6} {'per s':>7} {'steady':>7} {'p50':>7} {'p95':>7} "
        f"{'p99':>7} {'srv p50':>7} {'srv p95':>7} {'srv p99':>7}  target / result"
    ]
    for name, row in phases.items():
        if "ratio_to_trivial_get" in row:
            rounds = "".join(f"{ratio}x, " for ratio in row.get("ratio_by_round", []))
            whole = f"whole phases {row['ratio_whole_phases']}x; " if row.get("ratio_whole_phases") else ""
            verdict = f"{row['ratio_to_trivial_get']}x trivial GET ({rounds}{whole}>= {row['target_ratio']}x): "
        elif row.get("target_server_p95_ms"):
            verdict = f"0 errors, server p95 <= {row['target_server_p95_ms']:.0f} ms: "
        else:
            verdict = ""
        verdict += _verdict(row)
        lines.append(
            f"{name:<24} {row['clients']:>7} {row['ok']:>6} {row['errors']:>6} {row['throughput_per_s']:>7.1f} "
            f"{row.get('steady_per_s', 0.0):>7.1f} "
            + " ".join(f"{_ms(row.get(key)):>7}" for key in PERCENTILE_KEYS)
            + f"  {verdict}"
        )
    for name, row in phases.items():
        parts = {part: row.get(f"cpu_ms_per_request_{part}") for part in ("server", "postgres", "client")}
        if None not in parts.values():
            lines.append(
                f"CPU per request of {name}: server {parts['server']} + PostgreSQL {parts['postgres']} + "
                f"client {parts['client']} = {sum(parts.values()):.2f} ms"
            )
    return "\n".join(lines)
