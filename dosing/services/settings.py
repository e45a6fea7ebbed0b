"""Per-clinic dosing settings (SPEC 4 numbers, SPEC 8 operations): changed by the clinic manager, with history.

A change takes effect from the next session that has not started: made while a session is
running, it is kept as pending until that session's window ends (`DosingSettings.for_clinic`
applies it then, without waiting for any job), so the doses of a session in progress are decided
by the numbers it started with. The open slots of sessions not yet started follow the new windows
at once; slots of a session the clinic no longer runs are cancelled.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinics.access import require_capability_at
from clinics.models import Clinic
from clinics.roles import Capability

from .. import rules
from ..models import OPEN_SLOT_STATUSES, DosingSettings, Slot, SlotStatus
from ..rules import SETTINGS_FIELDS, setting_text
from ._common import _now


def _parsed(values: dict) -> dict:
    parsed, errors = {}, {}
    for name in SETTINGS_FIELDS:
        field = DosingSettings._meta.get_field(name)
        try:
            parsed[name] = field.to_python(values.get(name))
        except ValidationError:
            errors[name] = f"{field.verbose_name.capitalize()}: enter a valid value."
    if errors:
        raise ValidationError(errors)
    return parsed


def _session_in_progress_ends(current: DosingSettings, *, now: datetime) -> datetime | None:
    """The end of the session running now (by the settings in force), or None between sessions."""
    today = timezone.localdate(now, current.clinic.zone)
    for session in current.sessions():
        start, end = current.window(today, session)
        if start <= now < end:
            return end
    return None


def _follow_new_windows(*, clinic: Clinic, new: DosingSettings, after: datetime, by, now: datetime) -> None:
    """Open slots of sessions that start from `after` take the new windows; a session no longer run is cancelled."""
    run = set(new.sessions())
    for slot in Slot.objects.filter(clinic=clinic, status__in=OPEN_SLOT_STATUSES, window_start__gte=after):
        if slot.session not in run:
            slot.status, slot.status_changed_at, slot.status_changed_by = SlotStatus.CANCELLED, now, by
            slot.status_reason = f"The clinic now runs {new.sessions_per_day} sessions a day"
            slot.save(update_fields=["status", "status_changed_at", "status_changed_by", "status_reason"])
            continue
        slot.window_start, slot.window_end = new.window(slot.date, slot.session)
        slot.save(update_fields=["window_start", "window_end"])


@transaction.atomic
def dosing_settings_change(*, clinic: Clinic, by, values: dict, now: datetime | None = None) -> DosingSettings:
    """The clinic manager changes the clinic's settings (all of SETTINGS_FIELDS), within the SPEC's bounds.

    Applied at once between sessions; during a session, kept as pending until it ends. Idempotent:
    the same values again change nothing.
    """
    now = _now(now)
    require_capability_at(by, Capability.MANAGE_CLINIC, clinic=clinic, doing="change the clinic's dosing settings")
    new_values = _parsed(values)
    rules.check_dosing_settings(new_values)
    DosingSettings.for_clinic(clinic, now=now)  # created on first use; a due pending change applied
    current = DosingSettings.objects.select_for_update().get(clinic=clinic)
    current.clinic = clinic
    if not current.history.exists():
        current.save()  # a baseline (rows made before the history was kept), so the first change shows old values
    changed = {name: value for name, value in new_values.items() if getattr(current, name) != value}
    if not changed and current.pending is None:
        return current
    effective = _session_in_progress_ends(current, now=now)
    new = DosingSettings(clinic=clinic, **{name: new_values[name] for name in SETTINGS_FIELDS})
    current._history_user = by
    if effective is None:
        for name, value in changed.items():
            setattr(current, name, value)
        current.pending, current.pending_from, current.pending_by = None, None, None
    else:
        current.pending = {
            name: value if isinstance(value, int) else setting_text(value) for name, value in changed.items()
        } or None
        current.pending_from, current.pending_by = (effective, by) if changed else (None, None)
    current.save()
    _follow_new_windows(clinic=clinic, new=new, after=effective or now, by=by, now=now)
    clinic._dosing_settings_cache = current  # readers of this clinic object see the change at once
    return current
