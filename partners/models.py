from django.conf import settings
from django.db import models
from django.db.models import F, Q
from oauth2_provider.models import Application

from clinics.models import Clinic


class PartnerKind(models.TextChoices):
    HOUSING = "housing", "Housing"
    EMPLOYMENT = "employment", "Employment"
    TRAINING = "training", "Training"
    BENEFITS = "benefits", "Benefits"
    MENTAL_HEALTH = "mental_health", "Mental health"
    PROBATION = "probation", "Probation"
    POLICE = "police", "Police"
    PUBLIC_HEALTH = "public_health", "Public health"
    GP = "gp", "GP"
    OTHER = "other", "Other"


class PartnerScope(models.TextChoices):
    """What a partner's API client may do. The same names as OAUTH2_PROVIDER["SCOPES"]."""

    READ = "referrals:read", "Read the onward referrals addressed to the organisation"
    WRITE = "referrals:write", "Update those referrals and add notes"
    SUBMIT = "referrals:submit", "Submit incoming referrals (police and probation partners)"
    ALERTS_READ = "alerts:read", "Read the clinic's drug early-warning alerts"
    ALERTS_WRITE = "alerts:write", "Submit drug alerts for the clinic to review (public-health and police partners)"
    DIVERSION_READ = "diversion:read", "Read attendance under diversion contracts (police and probation partners)"


class PartnerOrganisation(models.Model):
    """An agency the clinic works with. Partners are API clients, never web users (SPEC 6)."""

    clinics = models.ManyToManyField(Clinic, related_name="partners")
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=20, choices=PartnerKind.choices)
    contact_email = models.EmailField()
    webhook_url = models.URLField(blank=True)
    # Standard Webhooks secret ("whsec_" + base64 of 32 random bytes). Kept readable because we
    # sign with it; shown to a manager once, when generated, and never again (docs/webhooks.md).
    webhook_secret = models.CharField(max_length=100, blank=True, editable=False)
    webhook_secret_created_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name"], name="unique_partner_name")]

    def __str__(self) -> str:
        return self.name


class PartnerClientQuerySet(models.QuerySet):
    def active(self):
        """Clients that may get and use tokens: not revoked, of an active partner organisation that still
        works with the clinic the client was issued for (unlinking the clinic stops its clients at once)."""
        return self.filter(
            revoked_at__isnull=True,
            application__isnull=False,
            partner__is_active=True,
            clinic__is_active=True,
            clinic__partners=F("partner"),
        )

    def of_clinics(self, clinics):
        return self.filter(clinic__in=clinics)


class PartnerClient(models.Model):
    """One OAuth2 client (client-credentials grant) of a partner organisation, with its granted scopes.

    The django-oauth-toolkit Application holds the hashed secret and owns the tokens; revoking
    deletes it (and so every token at once) and keeps this row, with who revoked it and when.

    A client belongs to one clinic (SPEC 6): it sees only that clinic's onward referrals and only
    that clinic's managers see, make and revoke it, even when the partner works with several clinics.
    """

    partner = models.ForeignKey(PartnerOrganisation, on_delete=models.PROTECT, related_name="clients")
    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.PROTECT,
        related_name="partner_clients",
        help_text="The clinic this client was issued for: it reads that clinic's referrals only.",
    )
    application = models.OneToOneField(
        Application, on_delete=models.SET_NULL, null=True, blank=True, related_name="partner_client"
    )
    # A copy of the application's client id, so the record still names the client after revocation.
    client_id = models.CharField(max_length=255, unique=True)
    label = models.CharField(max_length=100, blank=True, help_text="Which of the partner's systems uses it.")
    # Space-separated, as in OAuth2 ("referrals:read referrals:write").
    scope = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = PartnerClientQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(application__isnull=True),
                name="revoked_partner_client_has_no_application",
                violation_error_message="A revoked client cannot keep its OAuth2 application.",
            ),
            models.CheckConstraint(
                condition=~Q(scope=""),
                name="partner_client_has_a_scope",
                violation_error_message="A partner client needs at least one scope.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} client {self.client_id[:8]}…"

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()

    @property
    def is_active(self) -> bool:
        return (
            self.revoked_at is None
            and self.application_id is not None
            and self.partner.is_active
            and self.partner.clinics.filter(pk=self.clinic_id, is_active=True).exists()
        )
