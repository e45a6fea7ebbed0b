"""Writes about partner organisations and their API clients, as keyword-only functions.

Secrets are returned once, in plain text, to the caller that shows them; we keep only what we
must: the client secret hashed (django-oauth-toolkit hashes it on save), the webhook secret
readable because we sign with it.
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import Application

from clinics.access import has_capability
from clinics.roles import Capability
from clinics.selectors import clinics_for

from .models import PartnerClient, PartnerKind, PartnerOrganisation, PartnerScope
from .webhook_secrets import new_webhook_secret
from .webhook_urls import UnsafeWebhookAddress, check_webhook_url

logger = logging.getLogger(__name__)

NAME_TAKEN = "A partner organisation with this name already exists."
# SPEC 6: police and probation partners may submit incoming referrals (e.g. diversion contracts).
SUBMIT_KINDS = frozenset({PartnerKind.POLICE, PartnerKind.PROBATION})
ALERT_SUBMIT_KINDS = frozenset({PartnerKind.PUBLIC_HEALTH, PartnerKind.POLICE})


def _clean_fields(*, name: str, kind: str, contact_email: str, webhook_url: str) -> dict:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors.setdefault("name", []).append("Enter the organisation's name.")
    elif len(name) > 160:
        errors.setdefault("name", []).append("Use at most 160 characters.")
    if kind not in PartnerKind.values:
        errors.setdefault("kind", []).append("Choose the kind of organisation from the list.")
    contact_email = (contact_email or "").strip()
    try:
        EmailValidator()(contact_email)
    except ValidationError:
        errors.setdefault("contact_email", []).append("Enter an email address such as team@example.org.")
    webhook_url = (webhook_url or "").strip()
    if webhook_url:
        try:
            URLValidator(schemes=["http", "https"])(webhook_url)
        except ValidationError:
            errors.setdefault("webhook_url", []).append("Enter a web address such as https://example.org/hooks.")
        else:
            try:
                check_webhook_url(webhook_url)  # SSRF: never the clinic's own network; https under HTTPS
            except UnsafeWebhookAddress as error:
                errors.setdefault("webhook_url", []).append(str(error))
    if errors:
        raise ValidationError(errors)
    return {"name": name, "kind": kind, "contact_email": contact_email, "webhook_url": webhook_url}


def _check_clinics(clinics) -> list:
    clinics = list(clinics)
    if not clinics:
        raise ValidationError({"clinics": "Choose at least one clinic that works with this partner."})
    return clinics


# A partner's own details are shared by every clinic it works with (issue 11): a manager of only
# some of those clinics changes only their clinics' links and clients, not these.
SHARED_FIELDS = ("name", "kind", "contact_email", "webhook_url", "is_active")
SHARED_REFUSED = (
    "{partner} also works with another clinic, so its name, kind, contact email, webhook address and "
    "active state can be changed only by a manager of every clinic it works with (or an administrator)."
)


def manages_every_clinic_of(user, partner: PartnerOrganisation) -> bool:
    """May `user` change what all of the partner's clinics share? None is the operator (command line)."""
    if user is None:
        return True
    if not has_capability(user, Capability.MANAGE_CLINIC):
        return False
    mine = set(clinics_for(user).values_list("pk", flat=True))
    return set(partner.clinics.values_list("pk", flat=True)) <= mine


def _check_manages_clinic(user, clinic) -> None:
    """A member of staff issues and revokes clients only for a clinic they manage (None: the operator)."""
    if user is None:
        return
    if not has_capability(user, Capability.MANAGE_CLINIC) or not clinics_for(user).filter(pk=clinic.pk).exists():
        raise ValidationError({"clinic": "Choose one of the clinics you manage."})


def _name_taken(name: str, *, exclude_pk=None) -> bool:
    return PartnerOrganisation.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists()


@transaction.atomic
def partner_create(
    *, name: str, kind: str, contact_email: str, clinics, webhook_url: str = "", created_by=None, now=None
) -> tuple[PartnerOrganisation, str]:
    """Create a partner organisation. Returns (partner, webhook secret to show once, or "")."""
    fields = _clean_fields(name=name, kind=kind, contact_email=contact_email, webhook_url=webhook_url)
    clinics = _check_clinics(clinics)
    if _name_taken(fields["name"]):
        raise ValidationError({"name": NAME_TAKEN})
    partner = PartnerOrganisation(**fields)
    secret = ""
    if partner.webhook_url:
        secret = _set_new_secret(partner, now=now)
    try:
        with transaction.atomic():
            partner.save()
    except IntegrityError:  # the same name, created a moment ago by someone else
        raise ValidationError({"name": NAME_TAKEN}) from None
    partner.clinics.set(clinics)
    logger.info("partner %s created by user %s", partner.pk, getattr(created_by, "pk", None))
    return partner, secret


@transaction.atomic
def partner_update(
    *,
    partner: PartnerOrganisation,
    updated_by=None,
    name: str,
    kind: str,
    contact_email: str,
    webhook_url: str = "",
    clinics=None,
    is_active: bool | None = None,
    now=None,
) -> tuple[PartnerOrganisation, str]:
    """Change a partner's details. Returns (partner, new webhook secret to show once, or "").

    A secret is generated the first time a webhook address is set; changing the address keeps
    the secret (rotate it with `partner_webhook_secret_rotate`). Deactivating a partner stops
    its clients at once: the token endpoint and the API both refuse an inactive partner.
    """
    partner = PartnerOrganisation.objects.select_for_update().get(pk=partner.pk)
    fields = _clean_fields(name=name, kind=kind, contact_email=contact_email, webhook_url=webhook_url)
    if clinics is not None:
        clinics = _check_clinics(clinics)
    if _name_taken(fields["name"], exclude_pk=partner.pk):
        raise ValidationError({"name": NAME_TAKEN})
    wanted = {**fields, "is_active": partner.is_active if is_active is None else is_active}
    if any(getattr(partner, name) != wanted[name] for name in SHARED_FIELDS) and not manages_every_clinic_of(
        updated_by, partner
    ):
        raise ValidationError(SHARED_REFUSED.format(partner=partner.name))
    if clinics is not None and updated_by is not None:
        changed = {c.pk for c in clinics} ^ set(partner.clinics.values_list("pk", flat=True))
        if changed - set(clinics_for(updated_by).values_list("pk", flat=True)):
            raise ValidationError({"clinics": "You can link or unlink only the clinics you manage."})
    for field, value in fields.items():
        setattr(partner, field, value)
    if is_active is not None:
        partner.is_active = is_active
    secret = ""
    if partner.webhook_url and not partner.webhook_secret:
        secret = _set_new_secret(partner, now=now)
    try:
        with transaction.atomic():
            partner.save()
    except IntegrityError:
        raise ValidationError({"name": NAME_TAKEN}) from None
    if clinics is not None:
        partner.clinics.set(clinics)
    logger.info("partner %s updated by user %s", partner.pk, getattr(updated_by, "pk", None))
    return partner, secret


def _set_new_secret(partner: PartnerOrganisation, *, now=None) -> str:
    partner.webhook_secret = new_webhook_secret()
    partner.webhook_secret_created_at = now or timezone.now()
    return partner.webhook_secret


@transaction.atomic
def partner_webhook_secret_rotate(*, partner: PartnerOrganisation, rotated_by=None, now=None) -> str:
    """Replace the webhook signing secret; returns the new one, to show once. The old one stops at once."""
    partner = PartnerOrganisation.objects.select_for_update().get(pk=partner.pk)
    if not manages_every_clinic_of(rotated_by, partner):
        raise PermissionDenied(SHARED_REFUSED.format(partner=partner.name))
    secret = _set_new_secret(partner, now=now)
    partner.save(update_fields=["webhook_secret", "webhook_secret_created_at", "updated_at"])
    logger.info("partner %s webhook secret rotated by user %s", partner.pk, getattr(rotated_by, "pk", None))
    return secret


def _clean_scopes(partner: PartnerOrganisation, scopes) -> list[str]:
    if isinstance(scopes, str):
        scopes = scopes.split()
    chosen = []
    for scope in scopes or []:
        if scope not in PartnerScope.values:
            raise ValidationError(
                {"scopes": f"'{scope}' is not a scope. Choose from: {', '.join(PartnerScope.values)}."}
            )
        if scope not in chosen:
            chosen.append(scope)
    if not chosen:
        raise ValidationError({"scopes": "Choose at least one scope."})
    if PartnerScope.SUBMIT in chosen and partner.kind not in SUBMIT_KINDS:
        raise ValidationError({"scopes": "Only police and probation partners may submit referrals (referrals:submit)."})
    if PartnerScope.ALERTS_WRITE in chosen and partner.kind not in ALERT_SUBMIT_KINDS:
        raise ValidationError(
            {"scopes": "Only public-health and police partners may submit drug alerts (alerts:write)."}
        )
    if PartnerScope.DIVERSION_READ in chosen and partner.kind not in SUBMIT_KINDS:
        raise ValidationError(
            {"scopes": "Only police and probation partners may read diversion attendance (diversion:read)."}
        )
    # Keep the order of the list of scopes, whatever the order given.
    return [scope for scope in PartnerScope.values if scope in chosen]


@transaction.atomic
def partner_client_create(
    *, partner: PartnerOrganisation, clinic, scopes, created_by=None, label: str = ""
) -> tuple[str, str]:
    """Give a partner a new API client for one clinic. Returns (client_id, client_secret), the secret shown once.

    The client reads only `clinic`'s referrals (SPEC 6); `created_by` must manage that clinic.
    The secret is stored hashed (django-oauth-toolkit, hash_client_secret=True), so a lost
    secret means a new client, not a look-up.
    """
    partner = PartnerOrganisation.objects.select_for_update().get(pk=partner.pk)
    if not partner.is_active:
        raise ValidationError({"partner": "This partner organisation is inactive: reactivate it first."})
    if clinic is None:
        raise ValidationError({"clinic": "Choose the clinic this client is for."})
    _check_manages_clinic(created_by, clinic)
    if not clinic.is_active or not partner.clinics.filter(pk=clinic.pk).exists():
        raise ValidationError({"clinic": f"{partner.name} does not work with {clinic.name}."})
    scope_list = _clean_scopes(partner, scopes)
    label = (label or "").strip()
    if len(label) > 100:
        raise ValidationError({"label": "Use at most 100 characters."})
    secret = generate_client_secret()
    application = Application.objects.create(
        name=f"{partner.name} ({label})" if label else partner.name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=True,
        user=None,
        redirect_uris="",
    )
    client = PartnerClient.objects.create(
        partner=partner,
        clinic=clinic,
        application=application,
        client_id=application.client_id,
        label=label,
        scope=" ".join(scope_list),
        created_by=created_by,
    )
    logger.info("partner client %s created for partner %s, clinic %s", client.pk, partner.pk, clinic.pk)
    return application.client_id, secret


@transaction.atomic
def partner_client_revoke(*, client_id: str, revoked_by=None, now=None) -> PartnerClient:
    """Revoke a client at once: its application and every token go; the record stays. Idempotent.

    A member of staff revokes only clients of a clinic they manage; another clinic's client is
    answered as unknown. `revoked_by=None` is the operator (command line).
    """
    unknown = ValidationError({"client_id": "There is no partner client with this client id."})
    try:
        client = PartnerClient.objects.select_for_update().select_related("clinic").get(client_id=client_id)
    except PartnerClient.DoesNotExist:
        raise unknown from None
    try:
        _check_manages_clinic(revoked_by, client.clinic)
    except ValidationError:
        raise unknown from None
    if client.revoked_at is not None:
        return client  # already revoked: nothing more to do
    application = client.application
    client.application = None
    client.revoked_at = now or timezone.now()
    client.revoked_by = revoked_by
    client.save(update_fields=["application", "revoked_at", "revoked_by"])
    if application is not None:
        application.delete()  # cascades to its access and refresh tokens
    logger.info("partner client %s revoked by user %s", client.pk, getattr(revoked_by, "pk", None))
    return client
