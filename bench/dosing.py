"""Dosing measurements (issue 4): one function per measurement, each returning durations in ms.

Targets: the board of a 150-patient clinic p95 <= 150 ms; recording a dose p95 <= 50 ms.
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


def board_poll(base: str, sites, *, requests: int, warmup: int) -> list[float]:
    """The fragment board.js polls every 3 s on every nurse's tablet."""
    nurse = Staff(base, sites["board"].nurse.username, PASSWORD)
    return timed(requests, warmup, lambda _: nurse.get("/dosing/board/rows/"), 200)


def board_api(base: str, sites, *, requests: int, warmup: int) -> list[float]:
    """The same board as JSON (GET /api/v1/dosing/board/)."""
    nurse = Staff(base, sites["board"].nurse.username, PASSWORD)
    return timed(requests, warmup, lambda _: nurse.get("/api/v1/dosing/board/"), 200)


def record_dose(base: str, sites, *, requests: int, warmup: int) -> list[float]:
    """POST /api/v1/dosing/slots/<id>/administration/ with the witness PIN; a different checked slot each time."""
    site = sites["dose"]
    if len(site.slots) < requests + warmup:
        raise RuntimeError(f"only {len(site.slots)} slots for {requests + warmup} doses")
    nurse = Staff(base, site.nurse.username, PASSWORD)
    dose = {"dose_mg": "100", "route": "iv", "injection_site": "left_arm", "witness": site.witness.pk,
            "witness_password": PIN}  # fmt: skip
    return timed(
        requests, warmup, lambda i: nurse.post_json(f"/api/v1/dosing/slots/{site.slots[i]}/administration/", dose), 201
    )


# name -> (function, target p95 in ms or None, where the target comes from)
MEASUREMENTS = {
    "dosing.board_page": (board_page, 150.0, "issue 4"),
    "dosing.board_poll": (board_poll, 150.0, "issue 4"),
    "dosing.board_api": (board_api, 150.0, "issue 4"),
    "dosing.record_dose": (record_dose, 50.0, "issue 4"),
}
