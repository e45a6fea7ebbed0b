from django.db import models

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


class PartnerOrganisation(models.Model):
    """An agency the clinic works with. Partners are API clients, never web users (SPEC 6)."""

    clinics = models.ManyToManyField(Clinic, related_name="partners")
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=20, choices=PartnerKind.choices)
    contact_email = models.EmailField()
    webhook_url = models.URLField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name"], name="unique_partner_name")]

    def __str__(self) -> str:
        return self.name
