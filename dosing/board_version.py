"""An unchanged board answers 304 Not Modified after one small query (the board poll and the board API).

Every open tablet polls its clinic's board every 3 s; rendering it costs tens of milliseconds of
server time, and almost every poll finds nothing new. The board's ETag names what it was built
from:

    "board.<format>.<clinic id>.<version>.<valid until, epoch ms>"

- the clinic's board version, a value the database gives it in the same transaction as any change
  of what the board shows (triggers of migration dosing 0003: no code path can forget it), with the
  stamp of the transaction that wrote it (`<number>x<xmin>`): a restored database reuses numbers,
  never a stamp, so a tablet's copy from before a restore is never answered 304;
- the moment the board would change by the clock alone: the next observation to end (the row
  turns into "sign out"), the session's window opening or closing, the next session taking over;
- the representation (`html` or `json`) and a digest of the code that renders it, so a deploy
  never answers 304 for a page built by older templates.

A poll whose If-None-Match names the same clinic, format and version, before its valid-until,
is answered 304 with no body. The permission and clinic checks run before this (a 304 is never
an answer to someone who may not see the board), and the version is read before the board's
rows, so a board is never labelled with a version newer than its data (READ COMMITTED: a change
committed in between makes the next poll render again, which is harmless).
"""

import hashlib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from django.db import connection

from .models import DosingSettings
from .selectors import Board, Stage

_HERE = Path(__file__).resolve().parent
_RENDERED_BY = {
    "html": [
        *("templates/dosing/_board_live.html", "templates/dosing/_board_row.html"),
        *("presentation.py", "board_cache.py"),
    ],
    "json": ["api.py", "selectors.py"],
}


@lru_cache(maxsize=4)
def fmt(kind: str) -> str:
    """`html`/`json` and a short digest of the files that render it (the same in every worker)."""
    digest = hashlib.sha256()
    for name in _RENDERED_BY[kind]:
        digest.update((_HERE / name).read_bytes())
    return f"{kind}-{digest.hexdigest()[:8]}"


class Version(NamedTuple):
    number: int  # 0 before the clinic's first change
    stamp: str  # the transaction that wrote it (PostgreSQL's xmin), "" where there is none: see board_cache

    @property
    def tag(self) -> str:
        """The version as the ETag names it: the number and its stamp, so a number reused by a restore differs."""
        return f"{self.number}x{self.stamp}" if self.stamp else str(self.number)


def read(clinic_id: int) -> Version:
    """The clinic's board version now, with the stamp of the transaction that gave it: one primary-key read."""
    stamp = "xmin::text" if connection.vendor == "postgresql" else "''"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version, {stamp} FROM dosing_boardversion WHERE clinic_id = %s", [clinic_id])  # noqa: S608 (a constant)
        row = cursor.fetchone()
    return Version(row[0], row[1] or "") if row else Version(0, "")


def current(clinic_id: int) -> int:
    """The clinic's board version now (0 before its first change)."""
    return read(clinic_id).number


def changes_at(board: Board) -> datetime:
    """The next moment this board would look different with no change in the database."""
    now = board.now
    settings = DosingSettings.for_clinic(board.clinic)
    session = board.session
    moments = [session.window_start, session.window_end, session.window_end + settings.observation]
    moments += [row.observation_ends_at for row in board.rows if row.stage == Stage.UNDER_OBSERVATION]
    return min((moment for moment in moments if moment is not None and moment > now), default=now)


def valid_until_ms(board: Board) -> int:
    """`changes_at` as epoch milliseconds, as the ETag names it."""
    return int(changes_at(board).timestamp() * 1000)


def etag(kind: str, board: Board, version: Version) -> str:
    return f'"board.{fmt(kind)}.{board.clinic.pk}.{version.tag}.{valid_until_ms(board)}"'


def unchanged(if_none_match: str | None, *, kind: str, clinic_id: int, version: Version, now: datetime) -> str | None:
    """The ETag to answer 304 with when the client's copy is still the board; None when it must be rendered."""
    if not if_none_match:
        return None
    for tag in if_none_match.split(","):
        tag = tag.strip().removeprefix("W/")
        parts = tag.strip('"').split(".")
        if len(parts) != 5 or parts[0] != "board" or parts[1] != fmt(kind):
            continue
        try:
            tag_clinic, valid_until_ms = int(parts[2]), int(parts[4])
        except ValueError:
            continue
        if (tag_clinic, parts[3]) == (clinic_id, version.tag) and now.timestamp() * 1000 < valid_until_ms:
            return tag
    return None
