"""Dosing measurements (issues 4 and 13): one function per measurement, each returning durations in ms.

Targets: the board of a 150-patient clinic p95 <= 150 ms (issue 4); an unchanged board poll (304)
server p95 <= 5 ms; recording a dose for a patient with years of history server p95 <= 40 ms
(issue 13; the patients of bench.history, in the scale clinics), with the witness's PIN and, as a
separate figure, with their password (a deliberately slow hash); a new patient's dose for comparison.
"""

from .client import Staff, timed
from .data import PASSWORD, PIN


def board_page(base: str, sites, *, requests: int, warmup: int) -> list[float]:
    """The whole dosing board page (HTML) of the 150-patient clinic."""
    nurse = Staff(base, sites["board"].nurse.username, PASSWORD)
    durations = timed(requests, warmup, lambda _: nurse.get("/dosing/board/"), 200)
    body = nurse.get("/dosing/board/").text
    rows = body.count('class="board-row ')
    if rows != len(sites["board"].slots):
        raise RuntimeError(f"the board showed {rows} rows, expected {len(sites['board'].slots)}")
    return durations


# What board.js sends with every poll (a background poll is not activity for the idle sign-out).
BOARD_POLL_HEADERS = {"X-Requested-With": "fetch", "X-Background-Poll": "1"}


def board_poll(base: str, sites, *, requests: int, warmup: int) -> list[float]:
    """The fragment board.js polls every 3 s on every nurse's tablet."""
    nurse = Staff(base, sites["board"].nurse.username, PASSWORD)
    return timed(requests, warmup, lambda _: nurse.http.get(f"{base}/dosing/board/rows/", timeout=10,
                                                            headers=BOARD_POLL_HEADERS), 200)  # fmt: skip


def board_poll_unchanged(base: str, sites, *, requests: int, warmup: int) -> list[float]:
    """The same poll when nothing changed since the tablet's copy: If-None-Match, answered 304 without a body."""
    nurse = Staff(base, sites["board"].nurse.username, PASSWORD)
    headers = {**BOARD_POLL_HEADERS, "If-None-Match": nurse.get("/dosing/board/rows/").headers["ETag"]}
    return timed(requests, warmup, lambda _: nurse.http.get(f"{base}/dosing/board/rows/", timeout=10,
                                                            headers=headers), 304)  # fmt: skip


def board_api(base: str, sites, *, requests: int, warmup: int) -> list[float]:
    """The same board as JSON (GET /api/v1/dosing/board/)."""
    nurse = Staff(base, sites["board"].nurse.username, PASSWORD)
    return timed(requests, warmup, lambda _: nurse.get("/api/v1/dosing/board/"), 200)


def _doses(base: str, nurse: Staff, items: list, requests: int, warmup: int, secret: str) -> list[float]:
    """POST each (slot id, dose mg, witness id) once, in order; 201 expected every time."""
    if len(items) < requests + warmup:
        raise RuntimeError(f"only {len(items)} slots ready for {requests + warmup} doses")

    def send(i):
        slot, dose_mg, witness = items[i]
        body = {"dose_mg": str(dose_mg), "route": "iv", "injection_site": "left_arm", "witness": witness,
                "witness_password": secret}  # fmt: skip
        return nurse.post_json(f"/api/v1/dosing/slots/{slot}/administration/", body)

    return timed(requests, warmup, send, 201)


def _fewer(ready: list, requests: int, warmup: int) -> tuple[int, int]:
    """(requests, warmup) for the patients with history actually ready: fewer than asked for measures fewer (the
    row's n says so; none gives a row with no samples, which fails the run), and never warms up on more than half."""
    warmup = min(warmup, len(ready) // 2)
    return min(requests, len(ready) - warmup), warmup


def record_dose(base: str, sites, *, requests: int, warmup: int) -> list[float]:
    """A dose for a patient with years of history (seed_scale's, in their clinic), witnessed with a PIN."""
    history = sites["history"]
    nurse = Staff(base, history.nurse.username, PASSWORD)
    ready = history.take("pin", requests + warmup)
    return _doses(base, nurse, ready, *_fewer(ready, requests, warmup), PIN)


def record_dose_password(base: str, sites, *, requests: int, warmup: int) -> list[float]:
    """The same, the witness confirming with their account password (no PIN): a slow hash on every dose."""
    history = sites["history"]
    nurse = Staff(base, history.nurse.username, PASSWORD)
    requests, warmup = max(1, requests // 6), min(warmup, 3)
    ready = history.take("password", requests + warmup)
    return _doses(base, nurse, ready, *_fewer(ready, requests, warmup), PASSWORD)


def record_dose_new_patient(base: str, sites, *, requests: int, warmup: int) -> list[float]:
    """A dose for a patient made for this run (no history): the comparison for the two above."""
    site = sites["dose"]
    nurse = Staff(base, site.nurse.username, PASSWORD)
    items = [(slot, "100", site.witness.pk) for slot in site.slots]
    return _doses(base, nurse, items, requests, warmup, PIN)


# name -> (function, target p95 in ms or None, where the target comes from)
MEASUREMENTS = {
    "dosing.board_page": (board_page, 150.0, "issue 4"),
    "dosing.board_poll": (board_poll, 150.0, "issue 4"),
    "dosing.board_poll_unchanged": (board_poll_unchanged, 5.0, "issue 13"),
    "dosing.board_api": (board_api, 150.0, "issue 4"),
    "dosing.record_dose": (record_dose, 40.0, "issue 13"),
    "dosing.record_dose_password": (record_dose_password, None, None),
    "dosing.record_dose_new_patient": (record_dose_new_patient, 50.0, "issue 4"),
}

# Measurements that dose seed_scale's patients: only with the scale database.
NEEDS_HISTORY = {"dosing.record_dose", "dosing.record_dose_password"}
