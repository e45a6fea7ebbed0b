"""Writes for diversion contracts (issue 16): record, end, the weekly summaries and the hooks that stop them.

Deliveries go through the outbox (deliveries.services), written in the transaction of the change;
the `cancel_if("diversion.")` hook asks again, right before sending, whether the partner may still
hear about the contract, so a message already on its way is not sent after a withdrawal.
"""

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinics.selectors import clinics_for
from deliveries.registry import cancel_if
from deliveries.services import cancel_messages, enqueue_for_partner
from patients.models import AccessLogEntry, AccessPart, Patient
from patients.selectors import has_data_sharing_consent, open_episode
from patients.services import partner_access_record

from ..models import DIVERSION_PARTNER_KINDS, DiversionContract, EngagementCondition
from .selectors import can_handle_contracts, contract_is_live, live_contracts, local_today, monday_of, week_summary

PARTNER_REFERENCE_MAX = 60

# What the patient is told the partner will see (shown on the form, and in the consent conversation).
SHARING_PURPOSE = (
    "{partner} will see, for each week of the contract: whether you met the condition (yes or no), how "
    "many sessions you attended out of those expected, the last day you attended and whether you are "
    "still in treatment. Never your doses, medicines, health, reasons for missing a session or anything "
    "else from your record."
)


def _check_contract_fields(*, patient, partner, partner_reference, starts_on, ends_on, condition, condition_count):
    errors = {}
    if partner is None:
        errors["partner"] = "Partner: choose the police or probation partner that runs the scheme."
    elif partner.kind not in DIVERSION_PARTNER_KINDS:
        errors["partner"] = (
            f"Partner: {partner.name} is not a police or probation partner; diversion is for those only."
        )
    elif not partner.is_active or not partner.clinics.filter(pk=patient.clinic_id).exists():
        errors["partner"] = f"Partner: {partner.name} is not a partner of {patient.clinic.name}."
    elif not has_data_sharing_consent(patient, partner):
        errors["partner"] = (
            f"Partner: {patient.display_name} has no data-sharing consent in force with {partner.name}. "
            "Record the consent first (the patient's consents page)."
        )
    if not (partner_reference or "").strip():
        errors["partner_reference"] = "The partner's reference: enter the scheme's reference for the contract."
    elif len(partner_reference.strip()) > PARTNER_REFERENCE_MAX:
        errors["partner_reference"] = f"The partner's reference: at most {PARTNER_REFERENCE_MAX} characters."
    if starts_on is None:
        errors["starts_on"] = "Start date: enter the date the contract starts."
    if ends_on is None:
        errors["ends_on"] = "End date: enter the date the contract ends."
    elif starts_on is not None and ends_on < starts_on:
        errors["ends_on"] = "End date: the contract cannot end before it starts."
    elif starts_on is not None and (ends_on - starts_on).days > 2 * 366:
        errors["ends_on"] = "End date: a contract lasts at most two years."
    if condition not in EngagementCondition.values:
        errors["condition"] = "Engagement condition: choose sessions a week or days a week."
    ceiling = 7 if condition == EngagementCondition.DAYS_PER_WEEK else 21
    if not isinstance(condition_count, int) or isinstance(condition_count, bool) or not 1 <= condition_count <= ceiling:
        errors["condition_count"] = f"N: enter a whole number from 1 to {ceiling}."
    return errors


@transaction.atomic
def diversion_contract_record(
    *,
    patient: Patient,
    partner,
    partner_reference: str,
    starts_on: date,
    ends_on: date,
    condition: str,
    condition_count: int,
    created_by,
    now=None,
) -> DiversionContract:
    """A keyworker records a diversion contract of a patient in treatment, with consent for that partner."""
    now = now or timezone.now()
    if not can_handle_contracts(created_by):
        raise PermissionDenied("Recording a diversion contract needs the keyworker role.")
    if not clinics_for(created_by).filter(pk=patient.clinic_id).exists():
        raise PermissionDenied("This patient is not in one of your clinics.")
    patient = Patient.objects.select_for_update().get(pk=patient.pk)  # with the discharge's lock (S13)
    episode = open_episode(patient)
    if episode is None:
        raise ValidationError(
            {"patient": "The patient is discharged: a diversion contract is only for a patient in treatment."}
        )
    errors = _check_contract_fields(
        patient=patient,
        partner=partner,
        partner_reference=partner_reference,
        starts_on=starts_on,
        ends_on=ends_on,
        condition=condition,
        condition_count=condition_count,
    )
    if not errors and ends_on < local_today(patient.clinic, now):
        errors["ends_on"] = "End date: the contract has already ended; record only a current or future contract."
    if errors:
        raise ValidationError(errors)
    contract = DiversionContract(
        patient=patient,
        clinic=patient.clinic,
        episode=episode,
        partner=partner,
        partner_reference=partner_reference.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        condition=condition,
        condition_count=condition_count,
        created_by=created_by,
        created_at=now,
    )
    try:
        with transaction.atomic():
            contract.save()
    except IntegrityError as error:
        if "one_live_diversion_contract_per_partner" in str(error):
            raise ValidationError(
                {"partner": f"Partner: there is already a live contract with {partner.name}; end it first."}
            ) from error
        raise
    return contract


@transaction.atomic
def diversion_contract_end(*, contract: DiversionContract, by, reason: str, now=None) -> DiversionContract:
    """End a contract (completed, breached, withdrawn by the scheme...): the partner's next read is 404 and
    its waiting deliveries are cancelled. Ending it twice changes nothing."""
    now = now or timezone.now()
    if not can_handle_contracts(by) or not clinics_for(by).filter(pk=contract.clinic_id).exists():
        raise PermissionDenied("Ending a diversion contract needs the keyworker role in its clinic.")
    contract = DiversionContract.objects.select_for_update().get(pk=contract.pk)
    if contract.ended_at is not None:
        return contract
    if not (reason or "").strip():
        raise ValidationError({"reason": "Reason: say why the contract ends."})
    contract.ended_at, contract.ended_by, contract.end_reason = now, by, reason.strip()
    contract.save(update_fields=["ended_at", "ended_by", "end_reason"])
    cancel_messages(cancel_key=contract.cancel_key, reason="The diversion contract has ended.", now=now)
    return contract


def record_partner_read(*, contract: DiversionContract) -> None:
    """Issue 16: every partner read of a patient's attendance lands in the patient's access log."""
    partner_access_record(
        partner=contract.partner,
        patient=contract.patient,
        what=AccessPart.DIVERSION,
        channel=AccessLogEntry.Channel.API,
    )


# --- Deliveries ------------------------------------------------------------------------------------


def _deliver(contract: DiversionContract, *, kind: str, subject: str, body: str, payload: dict, key: str, now):
    return enqueue_for_partner(
        partner=contract.partner,
        kind=kind,
        subject=subject,
        body=body,
        payload=payload,  # exactly what the partner may see: the contract is found again by its reference
        clinic=contract.clinic,
        dedupe_key=f"diversion.{contract.pk}.{key}",
        cancel_key=contract.cancel_key,
        now=now,
    )


def _summary_body(data: dict) -> str:
    met = "met" if data["attended"] else "NOT met"
    last = data["last_attended_on"] or "none in the contract so far"
    return (
        f"Diversion contract {data['contract']} (your reference {data['partner_reference']}), week "
        f"{data['week_start']} to {data['week_end']}.\n"
        f"Condition ({data['condition_text']}): {met}.\n"
        f"Sessions attended: {data['sessions_attended']} of {data['sessions_expected']} expected; "
        f"days attended: {data['days_attended']}.\nLast attendance: {last}.\n"
        f"Still in treatment: {'yes' if data['in_treatment'] else 'no'}.\n"
    )


def diversion_weekly_summaries(*, now=None) -> int:
    """The weekly job: for every live contract, the summary of the last complete week (Monday to Sunday,
    clinic-local) that overlaps the contract, by webhook and email, once (dedupe key per contract and
    week); and `diversion.disengaged` when the condition was not met. Safe to run as often as you like."""
    now = now or timezone.now()
    written = 0
    for contract in live_contracts(at=now):
        today = local_today(contract.clinic, now)
        week_start = monday_of(today) - timedelta(days=7)
        if week_start + timedelta(days=6) < contract.starts_on or week_start > contract.ends_on:
            continue
        with transaction.atomic():
            if contract_is_live(contract, at=now) is not None:
                continue
            data = week_summary(contract, week_start, now=now).as_payload()
            _deliver(
                contract,
                kind="diversion.weekly_summary",
                subject=f"Diversion contract {contract.reference}: week of {data['week_start']}",
                body=_summary_body(data),
                payload=data,
                key=f"week.{data['week_start']}",
                now=now,
            )
            if not data["attended"]:
                _disengaged(contract, reason="condition_not_met", data=data, now=now)
            written += 1
    return written


def _disengaged(contract, *, reason: str, data: dict, now):
    payload = {
        "contract": contract.reference,
        "partner_reference": contract.partner_reference,
        "reason": reason,
        "week_start": data.get("week_start"),
        "last_attended_on": data.get("last_attended_on"),
        "in_treatment": data["in_treatment"],
    }
    what = "did not meet the engagement condition" if reason == "condition_not_met" else "is no longer in treatment"
    _deliver(
        contract,
        kind="diversion.disengaged",
        subject=f"Diversion contract {contract.reference}: disengaged",
        body=f"Diversion contract {contract.reference} (your reference {contract.partner_reference}): the person "
        f"{what}" + (f" in the week of {data['week_start']}." if data.get("week_start") else "."),
        payload=payload,
        key=f"disengaged.{data.get('week_start') or 'treatment_ended'}",
        now=now,
    )


def on_episode_end(*, episode, by, now) -> None:
    """S13 and issue 16: the episode's contracts stop. Waiting deliveries are cancelled and the partner
    hears once that the person is no longer in treatment (if it may still hear from us); then nothing."""
    for contract in DiversionContract.objects.filter(episode=episode, ended_at__isnull=True).select_related(
        "partner", "clinic", "episode"
    ):
        cancel_messages(cancel_key=contract.cancel_key, reason="The treatment episode has ended.", now=now)
        if contract_is_live(contract, at=now, episode_may_have_ended=True) is None:
            data = {"week_start": None, "last_attended_on": None, "in_treatment": False}
            _disengaged(contract, reason="treatment_ended", data=data, now=now)


def on_consent_withdrawn(*, patient, partner, now) -> None:
    """SPEC 3.3: a withdrawal stops the sharing at once: the contract's waiting deliveries are cancelled."""
    for contract in DiversionContract.objects.filter(patient=patient, partner=partner):
        cancel_messages(
            cancel_key=contract.cancel_key, reason="The patient withdrew the data-sharing consent.", now=now
        )


@cancel_if("diversion.")
def diversion_no_longer_shared(message) -> str | None:
    """Right before sending: the contract, its episode and the consent must still allow it."""
    contract = DiversionContract.objects.filter(reference=message.payload.get("contract") or "").first()
    if contract is None:
        return "The diversion contract no longer exists."
    treatment_ended = message.kind == "diversion.disengaged" and message.payload.get("reason") == "treatment_ended"
    return contract_is_live(contract, episode_may_have_ended=treatment_ended)
