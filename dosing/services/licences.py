"""S14: prescribers' Home Office licences (recorded by the clinic manager), the check at prescribing and at
every dose of diamorphine, and the expiry alerts (30 and 7 days before; a scheduled job, each sent once).
"""

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from clinics.access import has_capability, may_act, require_capability_at
from clinics.models import Clinic
from clinics.roles import Capability

from .. import rules
from ..models import LICENSED_DRUGS, AlertKind, PrescriberLicence
from ._common import _now
from .alerts import _alert

NOT_READ = object()  # check_licence's `latest_valid_to` when the caller has not read it


def latest_licence(*, prescriber_id, clinic: Clinic, day: date):
    """The queryset of the last day of the prescriber's latest licence for this clinic begun by `day` (one value)."""
    return (
        PrescriberLicence.objects.filter(prescriber_id=prescriber_id, clinic=clinic, valid_from__lte=day)
        .order_by("-valid_to")
        .values_list("valid_to", flat=True)
    )


def licence_state(
    *, prescriber_id: int, clinic: Clinic, day: date, latest_valid_to=NOT_READ
) -> tuple[bool, date | None]:
    """(licensed on `day`, the day the last licence lapsed or None). One query, none when the caller read
    `latest_valid_to` (`latest_licence`'s value, None when there is none)."""
    latest = latest_valid_to
    if latest is NOT_READ:
        latest = latest_licence(prescriber_id=prescriber_id, clinic=clinic, day=day).first()
    if latest is not None and latest >= day:
        return True, None
    return False, (latest + timedelta(days=1)) if latest is not None else None


def check_licence(*, prescription, clinic: Clinic, day: date, dose: bool = False, latest_valid_to=NOT_READ) -> None:
    """S14 for a prescription being signed (`dose=False`) or a dose against one (`dose=True`).

    One query for diamorphine (none when the caller read `latest_valid_to`), none for other drugs; the
    prescriber's name is read only to refuse.
    """
    if prescription.drug not in LICENSED_DRUGS:
        return
    licensed, lapsed_on = licence_state(
        prescriber_id=prescription.prescriber_id, clinic=clinic, day=day, latest_valid_to=latest_valid_to
    )
    if not licensed:
        rules.check_prescriber_licence(
            drug=prescription.drug,
            prescriber=prescription.prescriber,
            licensed=False,
            day=day,
            lapsed_on=lapsed_on,
            dose=dose,
        )


@transaction.atomic
def licence_record(
    *, clinic: Clinic, by, prescriber, number: str, valid_from: date, valid_to: date, now: datetime | None = None
) -> PrescriberLicence:
    """The clinic manager records a prescriber's licence for this clinic (a renewal is a new one)."""
    now = _now(now)
    require_capability_at(by, Capability.MANAGE_CLINIC, clinic=clinic, doing="record prescribers' licences")
    if prescriber is None or not may_act(prescriber, Capability.PRESCRIBE, clinic=clinic):
        raise rules.RuleViolation("S14", "Choose a prescriber of this clinic", field="prescriber")
    rules.check_licence_dates(valid_from=valid_from, valid_to=valid_to, number=number)
    licence = PrescriberLicence(
        prescriber=prescriber,
        clinic=clinic,
        number=number.strip(),
        valid_from=valid_from,
        valid_to=valid_to,
        recorded_by=by,
        recorded_at=now,
    )
    licence._history_user = by
    licence.save()
    return licence


def _managers_of(clinic: Clinic) -> list:
    return [
        user
        for user in clinic.staff.filter(is_active=True).prefetch_related("groups__permissions")
        if has_capability(user, Capability.MANAGE_CLINIC)
    ]


def licence_expiry_alerts(*, now: datetime | None = None) -> int:
    """Alert the prescriber and the clinic's managers 30 and 7 days before a licence ends. Idempotent.

    Each alert is claimed by a conditional update of its `alerted_*_at` (one wins, however many
    runs overlap) in the same transaction as the alert rows; the emails follow after commit.
    Returns the number of licences alerted about.
    """
    now = _now(now)
    sent = 0
    today = timezone.localdate(now)
    candidates = PrescriberLicence.objects.filter(
        valid_to__gte=today - timedelta(days=1), valid_to__lte=today + timedelta(days=31)
    ).select_related("clinic", "prescriber")
    for licence in candidates:
        left = (licence.valid_to - timezone.localdate(now, licence.clinic.zone)).days
        if left < 0:
            continue
        field = "alerted_7_at" if left <= 7 else "alerted_30_at" if left <= 30 else None
        if field is None:
            continue
        with transaction.atomic():
            claim = {field: now, **({"alerted_30_at": now} if field == "alerted_7_at" else {})}
            claimed = PrescriberLicence.objects.filter(pk=licence.pk, **{f"{field}__isnull": True}).update(**claim)
            if not claimed:
                continue
            days = 7 if field == "alerted_7_at" else 30
            message = (
                f"S14 · {rules.staff_name(licence.prescriber)}'s Home Office licence {licence.number} for "
                f"{licence.clinic.name} ends on {rules.day_month(licence.valid_to)} (within {days} days, {left} left); "
                "record the renewal, or their diamorphine prescriptions will be held for review."
            )
            recipients = {user.pk: user for user in [licence.prescriber, *_managers_of(licence.clinic)]}
            _alert(
                clinic=licence.clinic,
                recipients=list(recipients.values()),
                kind=AlertKind.LICENCE,
                message=message,
                now=now,
            )
            sent += 1
    return sent
