"""S13: dosing only inside an open treatment episode.

`end_treatment_with_episode` is registered with `patients.episode_hooks` (dosing/apps.py), so every
path that ends an episode (the discharge page, the API, anything calling
`patients.services.patient_discharge`) stops the patient's prescriptions (dated, by whom, why) and
cancels their slots still to come in the SAME transaction; a re-admitted patient needs a new
prescription. `check_in_open_episode` is asked by the pre-dose check and the dose, under the
patient's lock, before anything else about the slot.
"""

from datetime import datetime

from patients.models import DischargeReason, Episode

from .. import rules
from ..models import OPEN_SLOT_STATUSES, Administration, Prescription, Slot, SlotStatus

NOT_READ = object()  # check_in_open_episode's `open_since` when the caller has not read it


def open_episode_start(patient_id):
    """The queryset of the start of the patient's open episode (one value; at most one episode is open)."""
    return (
        Episode.objects.filter(patient_id=patient_id, ended_on__isnull=True)
        .order_by("-started_on", "-pk")
        .values_list("started_on", flat=True)
    )


def check_in_open_episode(slot: Slot, *, for_what: str = "dose", open_since=NOT_READ) -> None:
    """S13 for one slot: the patient's episode is open and had started by the slot's day. One query when open;
    none when the caller read `open_since` (`open_episode_start`'s value) and it is open."""
    if open_since is NOT_READ:
        open_since = open_episode_start(slot.patient_id).first()
    last_ended_on, last_reason = None, ""
    if open_since is None:
        last = (
            Episode.objects.filter(patient_id=slot.patient_id, ended_on__isnull=False)
            .order_by("-ended_on", "-pk")
            .values_list("ended_on", "discharge_reason")
            .first()
        )
        if last is not None:
            last_ended_on, last_reason = last[0], DischargeReason(last[1]).label.lower()
    rules.check_open_episode(
        open_since=open_since, day=slot.date, last_ended_on=last_ended_on, last_reason=last_reason, for_what=for_what
    )


def end_treatment_with_episode(*, episode: Episode, by, now: datetime) -> None:
    """S13: the episode has just ended (the caller holds the patient's lock and the transaction).

    Refuses (rolling the discharge back) a discharge dated before a dose already given; stops
    every live prescription, dated now, by the member of staff who ended the episode, with the
    discharge reason; cancels the patient's open slots whose window has not ended (those that
    have are missed, and the missed-slot job records them as such).
    """
    reason = f"Treatment episode ended: {episode.get_discharge_reason_display()}"
    if episode.discharge_notes:
        reason = f"{reason} ({episode.discharge_notes})"
    last_dosed_day = (
        Administration.objects.filter(patient_id=episode.patient_id, corrected_by__isnull=True, dose_mg__gt=0)
        .order_by("-slot__date")
        .values_list("slot__date", flat=True)
        .first()
    )
    rules.check_no_dose_after_discharge(last_dosed_day=last_dosed_day, ended_on=episode.ended_on)
    live = list(Prescription.objects.live().select_for_update().filter(patient_id=episode.patient_id))
    for prescription in live:
        prescription.stopped_at, prescription.stopped_by, prescription.stop_reason = now, by, reason
        prescription.save(update_fields=["stopped_at", "stopped_by", "stop_reason"])
    Slot.objects.filter(patient_id=episode.patient_id, status__in=OPEN_SLOT_STATUSES, window_end__gt=now).update(
        status=SlotStatus.CANCELLED, status_changed_at=now, status_changed_by=by, status_reason=reason
    )
