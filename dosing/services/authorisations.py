"""S5 and S7: a prescriber's authorisation (a reduced dose, the restart dose after a hold) is their own act.

Either the prescriber is the signed-in user (their session), or a nurse names them and they type
their own PIN on the nurse's device: the witness PIN machinery of `clinics.services`, with its
lockout after wrong tries. Verified before any lock is taken (the hash is deliberately slow). When
the PIN was used, the prescriber is alerted (in the app, and by email after commit), so a PIN used
without them is noticed.
"""

from datetime import datetime

from clinics.access import may_act
from clinics.models import Clinic
from clinics.roles import Capability
from clinics.services import witness_secret_is_correct

from .. import rules
from ..models import AlertKind, AuthorisedWith
from .alerts import _alert


def prescriber_act(
    *, clinic: Clinic, acting, named, pin: str, rule: str, what: str, who_field: str, pin_field: str
) -> tuple[object, str]:
    """The authorising prescriber and how they acted (AuthorisedWith), or a RuleViolation naming `rule`."""
    if named is not None and named.pk == acting.pk:
        named = None  # naming oneself is acting in one's own session
    named_may_prescribe = named is not None and may_act(named, Capability.PRESCRIBE, clinic=clinic)
    pin_correct = named_may_prescribe and bool(pin) and witness_secret_is_correct(witness=named, secret=pin)
    rules.check_prescriber_act(
        rule=rule,
        what=what,
        named=named,
        named_may_prescribe=named_may_prescribe,
        acting_may_prescribe=named is None and may_act(acting, Capability.PRESCRIBE, clinic=clinic),
        pin_given=bool(pin),
        pin_correct=pin_correct,
        who_field=who_field,
        pin_field=pin_field,
    )
    if named is None:
        return acting, AuthorisedWith.SESSION
    return named, AuthorisedWith.PIN


def notify_pin_used(*, clinic: Clinic, prescriber, recorded_by, what: str, now: datetime, **links) -> None:
    """Tell the prescriber that their PIN authorised something on another member of staff's device."""
    message = (
        f"{what}, authorised with your PIN on {rules.staff_name(recorded_by)}'s device at "
        f"{rules.hhmm(now, clinic.zone)} on {rules.day_month(now.astimezone(clinic.zone).date())}. "
        "If this was not you, tell the clinic manager and change your PIN."
    )
    _alert(clinic=clinic, recipients=[prescriber], kind=AlertKind.AUTHORISATION, message=message, now=now, **links)
