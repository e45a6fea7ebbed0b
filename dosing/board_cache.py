"""One rendering of a changed board, shared by every tablet of the clinic (issue 13, item 6).

When a nurse records a dose, every open tablet of that clinic polls within 3 s, finds a new board
version and asks for the board again. Rendering a 150-patient board costs tens of milliseconds;
thirty tablets rendering the same board after every dose saturate a two-core server. The live
fragment depends only on:

- the clinic, its board version (dosing/board_version.py) and the moment the board changes by the
  clock alone (its ETag's valid-until); the clinic's time zone is a column of the clinic, whose
  change moves the version;
- whether the user may record doses (`can_dose`: a manager who is not a nurse sees no actions);
- the code that renders it (the format digest of the ETag);
- and "now": `data-now-ms` and `data-updated` on #board-live, and the count-down text of each row
  under observation.

So the fragment is rendered once per (clinic, version, can_dose, format) with a mark where each
"now" bit goes, kept in the Django cache (Redis, or this process's memory while Redis is down:
health/cache.py), and every poll fills the marks in for its own moment. A served fragment is what a
fresh render at that moment gives, byte for byte (tests/dosing/test_board_shared_render.py).

It is served only while now < its valid-until and under the version read before anything else (the
key names the version; the version is read before the rows, so a fragment is never newer-labelled
than its data). Nothing in the fragment belongs to a user or a session: the board page's form with
its CSRF token is outside it. The access checks run before any of this (the view's decorator).

Versions come from a sequence and are never reused in one database, but a restored database, or
a test database made again, gives the same numbers to other boards. So the key also names the
transaction that wrote the version row (`xmin`): PostgreSQL never hands one out twice in a cluster,
and a restore writes the row anew. Where there is no such stamp (SQLite) nothing is shared.
"""

import math
import re
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.template import defaultfilters
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from .board_version import Version, fmt
from .presentation import mmss
from .selectors import seconds_left

# The longest a rendering is kept. Every tablet polls within 3 s of a change, so a minute is plenty; a busy
# clinic moves its version every few seconds, and each kept 150-row fragment is about 150 KB of Redis.
KEEP_SECONDS = 60
# A mark is an HTML comment: an escaped value never contains "<", so no data can look like a mark.
MARK = re.compile(r"<!--board:(now-ms|updated|left:\d+)-->")
NOW_MS_MARK = "<!--board:now-ms-->"
UPDATED_MARK = "<!--board:updated-->"


def left_mark(index: int) -> SafeString:
    return mark_safe(f"<!--board:left:{index}-->")  # noqa: S308 (a constant with an int: no data)


def now_ms(now: datetime) -> str:
    """`data-now-ms`: the template's `board.now|epoch_ms`."""
    return str(int(now.timestamp() * 1000))


def updated(now: datetime) -> str:
    """`data-updated`: the template's `board.now|time:'H:i:s'` (in the clinic's zone, activated for the request)."""
    return defaultfilters.time(timezone.localtime(now), "H:i:s")


@dataclass(frozen=True)
class Kept:
    """What a board poll answers with, kept for the clinic's other tablets while the clock leaves it as it is."""

    etag: str
    valid_until_ms: int

    def valid_at(self, now: datetime) -> bool:
        return now.timestamp() * 1000 < self.valid_until_ms


@dataclass(frozen=True)
class Rendered(Kept):
    """The HTML fragment with marks for its "now" bits."""

    body: str
    ends: tuple[datetime, ...]  # the observation end of each row's count-down, by mark index
    shareable: bool = True  # False when the "now" of the first tag could not be marked: served once, never kept

    def at(self, now: datetime) -> str:
        """The fragment as a fresh render at `now` gives it."""
        bits = {"now-ms": now_ms(now), "updated": updated(now)}

        def fill(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("left:"):
                return mmss(seconds_left(self.ends[int(name[5:])], now))
            return bits[name]

        return MARK.sub(fill, self.body)


@dataclass(frozen=True)
class Serialized(Kept):
    """The board API's data (dosing.api.BoardOut), whose `now` and count-downs are set per poll."""

    data: dict
    ends: tuple[datetime | None, ...]  # per row: when its observation ends, None for a row with no count-down

    def at(self, now: datetime, now_text: str) -> dict:
        """The data as a fresh serialization at `now` gives it (`now_text`: `now` as the serializer writes it)."""
        rows = [
            row if ends is None else {**row, "observation_seconds_left": seconds_left(ends, now)}
            for row, ends in zip(self.data["rows"], self.ends, strict=True)
        ]
        return {**self.data, "now": now_text, "rows": rows}


def key(kind: str, clinic_id: int, version: Version, *, audience: str) -> str | None:
    """The cache key of a rendering, or None when it must not be shared (no version yet, or no stamp).

    `audience`: who may be given it beyond the clinic's staff who may see the board ("dose" with the
    nurse's actions, "read" without them, "all" where the representation has no actions).
    """
    if not version.number or not version.stamp:
        return None
    return f"board:{fmt(kind)}:{clinic_id}:{version.number}:{version.stamp}:{audience}"


def shared(cache_key: str | None, now: datetime, kind: type[Kept] = Rendered) -> Kept | None:
    """The clinic's rendering of this version, if one is kept and the clock has not changed the board since."""
    if cache_key is None:
        return None
    kept = cache.get(cache_key)
    if isinstance(kept, kind) and kept.valid_at(now):
        return kept
    return None


def keep(cache_key: str | None, kept: Kept, now: datetime) -> None:
    """Keep a rendering for the clinic's other tablets until the clock alone would change it (at most KEEP_SECONDS)."""
    seconds = (kept.valid_until_ms - now.timestamp() * 1000) / 1000
    if cache_key is not None and getattr(kept, "shareable", True) and seconds > 0:
        cache.set(cache_key, kept, timeout=min(KEEP_SECONDS, math.ceil(seconds)))


def marked_head(body: str, now: datetime) -> str | None:
    """Put the marks in place of the "now" values of the fragment's first tag (#board-live), or None if not there."""
    head, close, rest = body.partition(">")
    at_ms, at_time = f'data-now-ms="{now_ms(now)}"', f'data-updated="{updated(now)}"'
    if not close or head.count(at_ms) != 1 or head.count(at_time) != 1:
        return None
    head = head.replace(at_ms, f'data-now-ms="{NOW_MS_MARK}"').replace(at_time, f'data-updated="{UPDATED_MARK}"')
    return head + close + rest
