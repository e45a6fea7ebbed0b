"""Every write about drug alerts, as keyword-only functions; transitions are locked and idempotent.

Who may do what is checked here, so the staff pages and the partner API can never disagree:
prescribers and clinic managers of the alert's clinic publish, correct, withdraw and decline;
any member of staff of the clinic acknowledges; public-health and police partners submit.
Each published change (publish, correct, withdraw) writes one outbox message per active partner
of the clinic in the same transaction, keyed by alert, event, version and partner, so that it is
delivered exactly once however often the change is asked for.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinics.access import require_capability_at
from clinics.roles import Capability
from clinics.selectors import works_at
from deliveries.services import enqueue_for_partner
from partners.models import PartnerOrganisation
from partners.services import ALERT_SUBMIT_KINDS

from .models import AlertAcknowledgement, AlertStatus, DrugAlert, Severity

PUBLISHERS = (Capability.PRESCRIBE, Capability.MANAGE_CLINIC)
EDITABLE_FIELDS = ("substance", "what_seen", "area", "severity", "advice", "valid_until")
EVENT_SUBJECTS = {
    "alert.published": "Drug alert",
    "alert.updated": "Drug alert corrected",
    "alert.withdrawn": "Drug alert withdrawn",
}


def clean_alert_fields(fields: dict, *, now) -> dict:
    """The alert's fields, stripped, or ValidationError naming each field that is wrong and why."""
    errors = {}
    cleaned = {}
    for name in EDITABLE_FIELDS:
        value = fields.get(name)
        cleaned[name] = value.strip() if isinstance(value, str) else value
    if not cleaned["substance"]:
        errors["substance"] = "Name the substance, e.g. heroin with nitazenes."
    elif len(cleaned["substance"]) > 120:
        errors["substance"] = "Keep the substance to 120 characters."
    if cleaned["area"] and len(cleaned["area"]) > 160:
        errors["area"] = "Keep the area to 160 characters."
    if not cleaned["severity"]:
        cleaned["severity"] = Severity.WARNING
    elif cleaned["severity"] not in Severity.values:
        errors["severity"] = f"Choose a severity: {', '.join(Severity.values)}."
    valid_until = cleaned["valid_until"]
    if valid_until is None or valid_until == "":
        errors["valid_until"] = "Say until when the alert holds."
    elif not hasattr(valid_until, "tzinfo") or valid_until.tzinfo is None:
        errors["valid_until"] = "Give a date and time with its time zone."
    elif valid_until <= now:
        errors["valid_until"] = "The alert must hold until a moment in the future."
    for name in ("what_seen", "advice"):
        cleaned[name] = cleaned[name] or ""
        if len(cleaned[name]) > 4000:
            errors[name] = "Keep this to 4000 characters."
    cleaned["area"] = cleaned["area"] or ""
    if errors:
        raise ValidationError(errors)
    return cleaned


def alert_payload(alert: DrugAlert, *, now) -> dict:
    """What partners receive by webhook and see in the feed: the alert, never who published it."""
    return {
        "id": alert.pk,
        "clinic": alert.clinic.name,
        "substance": alert.substance,
        "what_seen": alert.what_seen,
        "area": alert.area,
        "severity": alert.severity,
        "advice": alert.advice,
        "valid_until": alert.valid_until.isoformat(),
        "status": alert.feed_status(now=now),
        "withdrawn_reason": alert.withdrawn_reason,
        "version": alert.version,
        "updated_at": alert.updated_at.isoformat(),
    }


def _email_body(alert: DrugAlert, event: str) -> str:
    lines = [
        f"{EVENT_SUBJECTS[event]} from {alert.clinic.name}.",
        "",
        f"Substance: {alert.substance}",
        f"Severity: {alert.get_severity_display()}",
        f"What was seen: {alert.what_seen or '-'}",
        f"Area: {alert.area or '-'}",
        f"Advice: {alert.advice or '-'}",
        f"Valid until: {timezone.localtime(alert.valid_until, alert.clinic.zone):%d %b %Y %H:%M}",
    ]
    if event == "alert.withdrawn":
        lines += ["", f"Withdrawn: {alert.withdrawn_reason}"]
    return "\n".join(lines)


def _deliver_to_partners(alert: DrugAlert, *, event: str, now) -> int:
    """One outbox message per active partner of the clinic, once per alert, event and version."""
    partners = PartnerOrganisation.objects.filter(clinics=alert.clinic, is_active=True).order_by("pk")
    payload = alert_payload(alert, now=now)
    count = 0
    for partner in partners:
        enqueue_for_partner(
            partner=partner,
            kind=event,
            subject=f"{EVENT_SUBJECTS[event]}: {alert.substance} ({alert.get_severity_display()})",
            body=_email_body(alert, event),
            payload=payload,
            clinic=alert.clinic,
            dedupe_key=f"drug-alert:{alert.pk}:{event}:v{alert.version}:partner:{partner.pk}",
            now=now,
        )
        count += 1
    return count


def _locked(alert: DrugAlert) -> DrugAlert:
    return DrugAlert.objects.select_for_update().select_related("clinic").get(pk=alert.pk)


@transaction.atomic
def new_alert(*, clinic, by, now=None, **fields) -> DrugAlert:
    """A draft alert written by a prescriber or clinic manager of `clinic`."""
    now = now or timezone.now()
    require_capability_at(by, *PUBLISHERS, clinic=clinic, doing="publish drug alerts")
    cleaned = clean_alert_fields(fields, now=now)
    return DrugAlert.objects.create(clinic=clinic, status=AlertStatus.DRAFT, **cleaned)


@transaction.atomic
def publish_alert(*, alert: DrugAlert, by, now=None) -> DrugAlert:
    """Publish a draft or a partner's submission: the banner shows and partners are told. Twice: no change."""
    now = now or timezone.now()
    require_capability_at(by, *PUBLISHERS, clinic=alert.clinic, doing="publish drug alerts")
    alert = _locked(alert)
    if alert.status == AlertStatus.PUBLISHED:
        return alert
    if alert.status not in (AlertStatus.DRAFT, AlertStatus.SUBMITTED):
        raise ValidationError({"status": f"A {alert.get_status_display().lower()} alert cannot be published."})
    if alert.valid_until <= now:
        raise ValidationError({"valid_until": "This alert has expired: it must hold until a moment in the future."})
    alert.status = AlertStatus.PUBLISHED
    alert.published_by = by
    alert.published_at = now
    alert.version += 1
    alert.save()
    _deliver_to_partners(alert, event="alert.published", now=now)
    return alert


@transaction.atomic
def publish_new_alert(*, clinic, by, now=None, **fields) -> DrugAlert:
    """The staff form: write the alert and publish it at once, or nothing."""
    now = now or timezone.now()
    return publish_alert(alert=new_alert(clinic=clinic, by=by, now=now, **fields), by=by, now=now)


@transaction.atomic
def correct_alert(*, alert: DrugAlert, by, now=None, **fields) -> DrugAlert:
    """Change a published alert; partners get alert.updated. The same values again: no change, no message."""
    now = now or timezone.now()
    require_capability_at(by, *PUBLISHERS, clinic=alert.clinic, doing="correct drug alerts")
    alert = _locked(alert)
    if alert.status != AlertStatus.PUBLISHED:
        raise ValidationError({"status": "Only a published alert can be corrected."})
    current = {name: getattr(alert, name) for name in EDITABLE_FIELDS}
    cleaned = clean_alert_fields({**current, **fields}, now=now)
    if cleaned == current:
        return alert
    for name, value in cleaned.items():
        setattr(alert, name, value)
    alert.version += 1
    alert.save()
    _deliver_to_partners(alert, event="alert.updated", now=now)
    return alert


@transaction.atomic
def withdraw_alert(*, alert: DrugAlert, by, reason: str, now=None) -> DrugAlert:
    """Take a published alert back (a false alarm, or the danger is over); partners get alert.withdrawn."""
    now = now or timezone.now()
    require_capability_at(by, *PUBLISHERS, clinic=alert.clinic, doing="withdraw drug alerts")
    reason = (reason or "").strip()
    alert = _locked(alert)
    if alert.status == AlertStatus.WITHDRAWN:
        return alert
    if alert.status != AlertStatus.PUBLISHED:
        raise ValidationError({"status": "Only a published alert can be withdrawn."})
    if not reason:
        raise ValidationError({"reason": "Say why the alert is withdrawn: partners are told."})
    alert.status = AlertStatus.WITHDRAWN
    alert.withdrawn_by = by
    alert.withdrawn_at = now
    alert.withdrawn_reason = reason[:500]
    alert.version += 1
    alert.save()
    _deliver_to_partners(alert, event="alert.withdrawn", now=now)
    return alert


@transaction.atomic
def decline_alert(*, alert: DrugAlert, by, reason: str, now=None) -> DrugAlert:
    """Refuse a partner's submission, with a reason. Nothing is delivered."""
    require_capability_at(by, *PUBLISHERS, clinic=alert.clinic, doing="review drug alerts")
    reason = (reason or "").strip()
    alert = _locked(alert)
    if alert.status == AlertStatus.DECLINED:
        return alert
    if alert.status != AlertStatus.SUBMITTED:
        raise ValidationError({"status": "Only an alert submitted by a partner can be declined."})
    if not reason:
        raise ValidationError({"reason": "Say why the alert is declined."})
    alert.status = AlertStatus.DECLINED
    alert.declined_by = by
    alert.decline_reason = reason[:500]
    alert.save()
    return alert


def acknowledge_alert(*, alert: DrugAlert, by, version: int | None = None, now=None) -> AlertAcknowledgement:
    """This member of staff has read `version` of the alert (default: the current one). Twice: the first stands.

    The banner sends the version it showed: a correction made while the page was open is not
    acknowledged by a click on the old text, so the banner shows the new version next.
    """
    now = now or timezone.now()
    alert.refresh_from_db(fields=["version", "status"])
    version = alert.version if version is None else version
    if not 1 <= version <= alert.version:
        raise ValidationError({"version": f"This alert has no version {version}; reload the page."})
    if by is None or not by.is_authenticated or not by.is_active or not works_at(by, alert.clinic):
        raise PermissionDenied("Only staff of this clinic can acknowledge its alerts.")
    if alert.status != AlertStatus.PUBLISHED:
        raise ValidationError({"alert": "This alert is no longer published."})
    try:
        with transaction.atomic():
            acknowledgement, _created = AlertAcknowledgement.objects.get_or_create(
                alert=alert, user=by, version=version, defaults={"at": now}
            )
    except IntegrityError:  # a double click that raced the first
        acknowledgement = AlertAcknowledgement.objects.get(alert=alert, user=by, version=version)
    return acknowledgement


@transaction.atomic
def partner_submit_alert(*, partner: PartnerOrganisation, clinic, now=None, **fields) -> DrugAlert:
    """A public-health or police partner submits an alert to the clinic its API client is for; staff review it."""
    now = now or timezone.now()
    if partner.kind not in ALERT_SUBMIT_KINDS:
        raise PermissionDenied("Only public-health and police partners may submit drug alerts.")
    if not partner.is_active or not partner.clinics.filter(pk=clinic.pk, is_active=True).exists():
        raise PermissionDenied("This partner does not work with this clinic.")
    cleaned = clean_alert_fields(fields, now=now)
    return DrugAlert.objects.create(
        clinic=clinic, status=AlertStatus.SUBMITTED, submitted_by_partner=partner, **cleaned
    )
