"""Writes about partner organisations and their API clients, as keyword-only functions.

Secrets are returned once, in plain text, to the caller that shows them; we keep only what we
must: the client secret hashed (django-oauth-toolkit hashes it on save), the webhook secret
readable because we sign with it.
"""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import Application

from .models import PartnerClient, PartnerKind, PartnerOrganisation, PartnerScope
from .webhook_secrets import new_webhook_secret

logger = logging.getLogger(__name__)

NAME_TAKEN = "A partner organisation with this name already exists."
# SPEC 6: police and probation partners may submit incoming referrals (e.g. diversion contracts).
SUBMIT_KINDS = frozenset({PartnerKind.POLICE, PartnerKind.PROBATION})


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
            if settings.HTTPS and urlsplit(webhook_url).scheme != "https":
                # Reminders name a referral: they travel encrypted or not at all.
                errors.setdefault("webhook_url", []).append("The webhook address must start with https://.")
    if errors:
        raise ValidationError(errors)
    return {"name": name, "kind": kind, "contact_email": contact_email, "webhook_url": webhook_url}


def _check_clinics(clinics) -> list:
    clinics = list(clinics)
    if not clinics:
        raise ValidationError({"clinics": "Choose at least one clinic that works with this partner."})
    return clinics


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
    # Keep the order of the list of scopes, whatever the order given.
    return [scope for scope in PartnerScope.values if scope in chosen]


@transaction.atomic
def partner_client_create(*, partner: PartnerOrganisation, scopes, created_by=None, label: str = "") -> tuple[str, str]:
    """Give a partner a new API client. Returns (client_id, client_secret); the secret is never shown again.

    The secret is stored hashed (django-oauth-toolkit, hash_client_secret=True), so a lost
    secret means a new client, not a look-up.
    """
    partner = PartnerOrganisation.objects.select_for_update().get(pk=partner.pk)
    if not partner.is_active:
        raise ValidationError({"partner": "This partner organisation is inactive: reactivate it first."})
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
        application=application,
        client_id=application.client_id,
        label=label,
        scope=" ".join(scope_list),
        created_by=created_by,
    )
    logger.info("partner client %s created for partner %s", client.pk, partner.pk)
    return application.client_id, secret


@transaction.atomic
def partner_client_revoke(*, client_id: str, revoked_by=None, now=None) -> PartnerClient:
    """Revoke a client at once: its application and every token go; the record stays. Idempotent."""
    try:
        client = PartnerClient.objects.select_for_update().get(client_id=client_id)
    except PartnerClient.DoesNotExist:
        raise ValidationError({"client_id": "There is no partner client with this client id."}) from None
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
