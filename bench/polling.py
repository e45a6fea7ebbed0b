"""Boards at regional scale (issue 13, item 6): 300 tablets polling every 3 s for 60 s while doses are recorded.

`python -m bench --boards`. Each simulated board is a thread with its own signed-in session that polls
/dosing/board/rows/ every 3 s (from a random start within the first 3 s) sending the ETag of its
copy, as board.js does: unchanged, the server answers 304 with no body; changed, the new board.
A tenth of the boards show the benchmark's 150-patient board clinic, where one nurse records a dose
every few seconds; the others show the scale clinics' boards (nothing changes there meanwhile).

Checked afterwards: no error, and every board of the dosing clinic saw each dose within one poll:
the first poll it started after the dose's 201 came back shows that slot as dosed (a 304 counts
when the board's copy already showed it).
"""

import random
import re
import threading
import time

from .client import Staff
from .data import PIN
from .dosing import BOARD_POLL_HEADERS
from .report import NO_SAMPLES, Durations, percentiles

DOSED_ROW = re.compile(
    r'id="slot-(\d+)" class="board-row board-row--(?:under_observation|observation_over|signed_out)"'
)


class Board:
    """One tablet: its polls as (started, ended, status), and after each 200 the slots its copy shows dosed."""

    def __init__(self, staff: Staff, watched: bool):
        self.staff = staff
        self.watched = watched
        self.polls: list[tuple[float, float, int]] = []
        self.shown: list[tuple[float, frozenset]] = []  # (ended, dosed slot ids) after each 200
        self.errors: list[str] = []
        self.durations = Durations()
        first = staff.get("/dosing/board/rows/")
        self.etag = first.headers.get("ETag")
        self._remember(time.monotonic(), first.text)

    def _remember(self, ended: float, body: str) -> None:
        if self.watched:
            self.shown.append((ended, frozenset(int(pk) for pk in DOSED_ROW.findall(body))))

    def run(self, start: float, end: float, interval: float) -> None:
        moment = start + random.uniform(0, interval)  # noqa: S311 (spreading the polls, not a secret)
        while moment < end:
            time.sleep(max(0.0, moment - time.monotonic()))
            started = time.monotonic()
            try:
                response = self.staff.http.get(
                    f"{self.staff.base}/dosing/board/rows/",
                    headers={**BOARD_POLL_HEADERS, "If-None-Match": self.etag or ""},
                    timeout=10,
                )
            except Exception as error:  # every failure counts
                self.errors.append(f"{type(error).__name__}: {error}"[:200])
                moment += interval
                continue
            ended = time.monotonic()
            if response.status_code == 200:
                self.etag = response.headers.get("ETag")
                self._remember(ended, response.text)
            elif response.status_code != 304:
                self.errors.append(f"{response.status_code}: {response.text[:200]}")
            self.polls.append((started, ended, response.status_code))
            self.durations.record((ended - started) * 1000, response)
            moment += interval

    def saw(self, slot_id: int, dosed_at: float) -> bool:
        """The first poll started after `dosed_at` left this board showing the slot dosed."""
        after = next((p for p in self.polls if p[0] > dosed_at), None)
        if after is None:
            return True  # the run ended first: nothing to judge
        copy = [shown for ended, shown in self.shown if ended <= after[1]]
        return bool(copy) and slot_id in copy[-1]


def run(base: str, boards: list[Board], nurse: Staff, witness_pk: int, slots: list[int], *,
        interval: float = 3.0, duration: float = 60.0) -> dict:  # fmt: skip
    """Poll with every board for `duration` s while `nurse` doses `slots`, evenly spread; return the figures."""
    start = time.monotonic() + 0.5
    end = start + duration
    doses: list[tuple[int, float]] = []
    dose_errors: list[str] = []

    def dose_all():
        gap = duration / (len(slots) + 1)
        for index, slot in enumerate(slots):
            time.sleep(max(0.0, start + gap * (index + 1) - time.monotonic()))
            body = {"dose_mg": "100", "route": "iv", "injection_site": "left_arm", "witness": witness_pk,
                    "witness_password": PIN}  # fmt: skip
            try:
                response = nurse.post_json(f"/api/v1/dosing/slots/{slot}/administration/", body, timeout=60)
            except Exception as error:  # counted, never raised: the boards go on
                dose_errors.append(f"{type(error).__name__}: {error}"[:200])
                continue
            if response.status_code == 201:
                doses.append((slot, time.monotonic()))
            else:
                dose_errors.append(f"{response.status_code}: {response.text[:200]}")

    threads = [threading.Thread(target=board.run, args=(start, end, interval)) for board in boards]
    threads.append(threading.Thread(target=dose_all))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    all_polls = Durations()
    for board in boards:
        all_polls += board.durations
        all_polls.server += board.durations.server
    watched = [board for board in boards if board.watched]
    late = [(slot, n) for slot, at in doses for n, board in enumerate(watched) if not board.saw(slot, at)]
    errors = [error for board in boards for error in board.errors]
    statuses = [poll[2] for board in boards for poll in board.polls]
    client, server = percentiles(list(all_polls)), percentiles(all_polls.server)
    return {
        "boards": len(boards),
        "boards_watching_the_doses": len(watched),
        "interval_s": interval,
        "duration_s": duration,
        "polls": len(statuses),
        "not_modified": statuses.count(304),
        "errors": len(errors),
        "first_errors": errors[:3],
        "doses": len(doses),
        "dose_errors": len(dose_errors),
        "first_dose_errors": dose_errors[:3],
        **{f"p{q}_ms": client.get(q) for q in (50, 95, 99)},
        **{f"server_p{q}_ms": server.get(q) for q in (50, 95, 99)},
        "changes_seen_within_one_poll": not late,
        "late": late[:10],
        "target_client_p95_ms": 100.0,
        "met": bool(all_polls and doses) and not errors and not late and client.get(95, 0) <= 100.0,
        # No poll answered, or no dose to see: "every change seen" would be vacuously true (bench.report.unmeasured).
        **({"error": NO_SAMPLES} if not (all_polls and doses) else {}),
    }
