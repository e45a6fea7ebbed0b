"""Every write of the dosing app, as keyword-only functions.

Conventions:
- `now=` is a parameter (default `timezone.now()`); the clinic-local date comes from the
  clinic's own time zone.
- Each transition runs in one transaction and first locks the slot and its patient
  (`SELECT ... FOR NO KEY UPDATE`), so two nurses on the same patient are serialised; the
  safety rules are then checked against what is committed (dosing/rules.py, the only
  place where a rule is decided). A refusal is a `rules.RuleViolation` (a ValidationError
  naming the rule, the facts and the field), nothing is half-saved.
- The acting user must hold the capability for the patient's clinic, else PermissionDenied
  (views also scope objects to the user's clinics and answer 404 for another clinic's).
- Transitions are idempotent where a repeat is harmless (arrival, refusal, withholding,
  sign-out, stop, clearing a hold: the second call returns what is there); a repeated dose
  is refused (S1) because a second dose is never harmless.
- Side effects (email) are queued with `delay_on_commit`, after the transaction commits.

The writes are split by job; this package re-exports every public one, so callers keep
`from dosing import services` and `services.administer_dose(...)`:
- `_common`: helpers several of them share (clock, locks, slot status, numbers, live prescription, open hold);
- `prescriptions`: sign, change and stop prescriptions;
- `slots`: making the session slots (the scheduled job, and at once for a new prescription);
- `checks`: arrival, the pre-dose check (S5), refusal and withholding;
- `doses`: the witnessed dose, the sign-out after observation (S6) and dose corrections (S10);
- `adverse_events`: S12;
- `holds`: missed slots (S11) and missed-dose holds (S7), with the prescriber's review;
- `alerts`: alerts to prescribers, and marking them read;
- `episodes`: S13, what ends with a treatment episode (registered with patients.episode_hooks);
- `absences`: planned absences (S7).
"""

from clinics.access import may_act

from ..models import DOSED_SLOT_STATUSES
from ._common import live_prescription
from .absences import absence_record
from .adverse_events import record_adverse_event
from .alerts import alert_mark_read
from .checks import record_pre_dose_check, record_refusal, slot_mark_arrived, withhold_dose
from .doses import (
    NOT_ENTERED,
    administer_dose,
    check_dose_entry,
    confirm_witness,
    correct_administration,
    sign_out_after_observation,
    witness_confirmation_holds,
)
from .holds import clear_hold, close_missed_slots, hold_after_missed_days
from .licences import licence_expiry_alerts, licence_record
from .prescriptions import prescription_change, prescription_create, prescription_stop
from .slots import create_slots

__all__ = [
    "DOSED_SLOT_STATUSES",
    "NOT_ENTERED",
    "absence_record",
    "administer_dose",
    "alert_mark_read",
    "check_dose_entry",
    "clear_hold",
    "close_missed_slots",
    "confirm_witness",
    "correct_administration",
    "create_slots",
    "hold_after_missed_days",
    "licence_expiry_alerts",
    "licence_record",
    "live_prescription",
    "may_act",
    "prescription_change",
    "prescription_create",
    "prescription_stop",
    "record_adverse_event",
    "record_pre_dose_check",
    "record_refusal",
    "sign_out_after_observation",
    "slot_mark_arrived",
    "withhold_dose",
    "witness_confirmation_holds",
]
