"""How a board row is shown: the words, icon, next action and links of each stage, computed once in Python.

The board is rendered every 3 s for every nurse's tablet, for up to a few hundred rows; a
Django template that branches and reverses URLs per row cost most of the request (measured
by `make bench`). So each row is turned into plain strings here and the template only
prints them. Status is never shown by colour alone: every stage has its words and an icon.
"""

import zlib
from dataclasses import dataclass
from functools import lru_cache

from django.urls import reverse
from django.utils import timezone

from clinics.templatetags.plain_words import plain

from . import rules
from .models import Drug, Route, SlotStatus
from .selectors import Board, BoardRow, Flag, Stage

# (badge modifier, icon, words) per stage; closed slots use the slot's own status label.
BADGES = {
    Stage.EXPECTED: ("", "○", "Expected"),
    Stage.ARRIVED: ("active", "●", "Arrived"),
    Stage.CHECKED: ("active", "✓", "Checked"),
    Stage.UNDER_OBSERVATION: ("observe", "◔", "Under observation"),
    Stage.OBSERVATION_OVER: ("alert", "⚠", "Observation complete — sign out"),
    Stage.SIGNED_OUT: ("done", "✔", "Signed out"),
    Stage.ON_HOLD: ("hold", "⊘", "ON HOLD"),
}

# (icon, words) per flag: plain words with an icon, never colour alone (dosing.css draws each as a labelled chip).
FLAGS = {
    Flag.CLINICAL_ALERT: ("⚠", "Alert"),
    Flag.LICENCE_REVIEW: ("⊘", "Prescriber's licence lapsed: prescriber review needed"),
    Flag.FIRST_DOSE: ("★", "First dose"),
    Flag.RESTART: ("↻", "Restart after a hold"),
    Flag.BACK_FROM_ABSENCE: ("⇤", "Back from a planned absence"),
    Flag.TITRATION: ("↗", "Titration step"),
    Flag.REDUCED: ("↓", "Reduced dose authorised"),
}

COUNTED = (
    (Stage.EXPECTED, "expected"),
    (Stage.ARRIVED, "arrived"),
    (Stage.CHECKED, "checked"),
    (Stage.UNDER_OBSERVATION, "under observation"),
    (Stage.OBSERVATION_OVER, "to sign out"),
    (Stage.SIGNED_OUT, "signed out"),
    (Stage.ON_HOLD, "on hold"),
)


def _pattern(name: str) -> str:
    """A URL with a `{}` for the id: reverse once per request, not once per row."""
    return reverse(name, args=[987654321]).replace("987654321", "{}")


# The board's filters (board_find.js): each stage belongs to one group; "done" is everything closed.
FILTER_GROUPS = {
    Stage.EXPECTED: "expected",
    Stage.ARRIVED: "arrived",
    Stage.CHECKED: "arrived",
    Stage.UNDER_OBSERVATION: "observation",
    Stage.OBSERVATION_OVER: "sign-out",
    Stage.ON_HOLD: "hold",
}
FILTERS = (
    ("", "Everyone"),
    ("expected", "Expected"),
    ("arrived", "Arrived"),
    ("observation", "Under observation"),
    ("sign-out", "To sign out"),
    ("hold", "On hold"),
    ("away", "Away"),
)


def _search_words(patient) -> str:
    """What the board's search box matches: names, preferred name and initials, in lower case."""
    initials = f"{patient.given_name[:1]}{patient.family_name[:1]}"
    return " ".join((patient.given_name, patient.family_name, patient.preferred_name or "", initials)).lower()


@dataclass
class RowView:
    id: int
    stage: str
    group: str
    search: str
    version: str
    name: str
    initials: str
    photo_url: str
    drug: str
    dose: str
    notes: list[str]
    flags: list[tuple[str, str, str]]  # (flag, icon, words)
    badge: str
    icon: str
    words: str
    detail: str
    countdown_ends_ms: str
    left: str
    until: str
    slot_url: str
    action_url: str
    action_label: str
    action_primary: bool
    action_post: bool
    sign_out_url: str


@lru_cache(maxsize=512)
def _mg(amount) -> str:
    return rules.mg(amount)


DRUGS = dict(Drug.choices)
ROUTES = {value: label.lower() for value, label in Route.choices}
STATUSES = dict(SlotStatus.choices)


def _hhmm(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M") if moment else ""


def _ms(moment) -> str:
    return str(int(moment.timestamp() * 1000)) if moment else ""


def mmss(seconds: int | None) -> str:
    minutes, seconds = divmod(max(0, seconds or 0), 60)
    return f"{minutes}:{seconds:02d}"


def board_view(board: Board) -> dict:
    """Everything the board templates print, for the page and the 3-second poll alike."""
    urls = {
        name: _pattern(name)
        for name in ("dosing-slot", "dosing-arrive", "dosing-check", "dosing-administer", "dosing-sign-out")
    }
    rows = [_row(row, urls) for row in board.rows]
    return {
        "rows": rows,
        "time_up": [row for row in rows if row.stage == Stage.OBSERVATION_OVER],
        "counts": [(label, board.count(stage)) for stage, label in COUNTED],
        "filters": FILTERS,
    }


def flag_views(row: BoardRow) -> list[tuple[str, str, str]]:
    """(flag, icon, words) for each of the row's flags: the board row, its card and the slot pages show the same."""
    flags = []
    for flag in row.flags:
        icon, words = FLAGS[flag]
        if flag == Flag.CLINICAL_ALERT:
            words = f"{words}: {row.patient.clinical_alert}"
        elif flag == Flag.REDUCED:
            words = f"{words}: {_mg(row.authorised_dose_mg)}"
        elif flag == Flag.BACK_FROM_ABSENCE:
            words = f"{words} (away until {row.absence_ended_on.day} {row.absence_ended_on:%b})"
        flags.append((flag, icon, words))
    return flags


def _row(row: BoardRow, urls: dict[str, str]) -> RowView:
    slot, patient, stage = row.slot, row.patient, row.stage
    name = patient.display_name
    prescribed = row.prescribed_dose_mg
    notes = []
    flags = flag_views(row)
    if row.administration is not None:
        notes.append(f"given {_mg(row.administration.dose_mg)} at {_hhmm(row.administration.given_at)}")
    if slot.top_up:
        notes.append("once-daily top-up")
    badge, icon, words = BADGES.get(stage, ("closed", "✕", STATUSES[slot.status]))
    detail = ""
    if stage == Stage.ARRIVED:
        words = f"{words} {_hhmm(slot.arrived_at)}"
    elif stage == Stage.CHECKED and row.check is not None:
        words = f"{words} {_hhmm(row.check.checked_at)}"
    elif stage == Stage.SIGNED_OUT and row.sign_out is not None:
        words = f"{words} {_hhmm(row.sign_out.signed_out_at)}"
    elif stage == Stage.ON_HOLD:
        detail = plain(row.hold.reason)
    elif badge == "closed":
        detail = plain(slot.status_reason)
    slot_url = urls["dosing-slot"].format(slot.pk)
    original = row.original_administration
    sign_out_url = urls["dosing-sign-out"].format(original.pk) if original is not None else ""
    action_post = False
    action_primary = True
    if stage == Stage.EXPECTED:
        action_url, action_label, action_post = urls["dosing-arrive"].format(slot.pk), "Mark arrived", True
    elif stage == Stage.ARRIVED:
        action_url, action_label = urls["dosing-check"].format(slot.pk), "Pre-dose check"
    elif stage == Stage.CHECKED:
        action_url, action_label = urls["dosing-administer"].format(slot.pk), "Give dose"
    elif stage == Stage.UNDER_OBSERVATION:
        action_url, action_label, action_primary = slot_url, "Observing · details", False
    elif stage == Stage.OBSERVATION_OVER:
        action_url, action_label = sign_out_url, "Sign out patient"
    else:
        action_url, action_label, action_primary = slot_url, "Details", False
    observing = stage == Stage.UNDER_OBSERVATION
    return RowView(
        id=slot.pk,
        stage=stage,
        group=FILTER_GROUPS.get(stage, "done"),
        search=_search_words(patient),
        version="|".join(
            str(part)
            for part in (
                stage,
                slot.status,
                _ms(slot.status_changed_at),
                row.check.pk if row.check else "",
                row.administration.pk if row.administration else "",
                row.sign_out.pk if row.sign_out else "",
                row.hold.pk if row.hold else "",
                # what the row shows that no id above tracks: the name and the flags' words
                format(zlib.crc32("\x1f".join((name, *(words for _, _, words in flags))).encode()), "x"),
            )
        ),
        name=name,
        initials=f"{patient.given_name[:1]}{patient.family_name[:1]}".upper(),
        photo_url=row.photo_url,
        drug=f"{DRUGS[row.prescription.drug]}, {ROUTES[row.prescription.route]}",
        dose=_mg(prescribed) if prescribed is not None else "none",
        notes=notes,
        flags=flags,
        badge=badge,
        icon=icon,
        words=words,
        detail=detail,
        countdown_ends_ms=_ms(row.observation_ends_at) if observing else "",
        left=mmss(row.observation_seconds_left) if observing else "",
        until=_hhmm(row.observation_ends_at) if observing else "",
        slot_url=slot_url,
        action_url=action_url,
        action_label=action_label,
        action_primary=action_primary,
        action_post=action_post,
        sign_out_url=sign_out_url,
    )
