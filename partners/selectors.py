"""Reads about partner organisations and their API clients."""

from django.db.models import QuerySet

from clinics.selectors import clinics_for

from .models import PartnerClient, PartnerOrganisation


def partners_for(user) -> QuerySet[PartnerOrganisation]:
    """Partner organisations that work with at least one of this user's clinics."""
    return (
        PartnerOrganisation.objects.filter(
            pk__in=PartnerOrganisation.objects.filter(clinics__in=clinics_for(user)).values("pk")
        )
        .prefetch_related("clinics")
        .order_by("name")
    )


def clients_of(partner: PartnerOrganisation, user) -> QuerySet[PartnerClient]:
    """The partner's clients issued for this user's clinics: another clinic's clients are not theirs to see."""
    return (
        partner.clients.filter(clinic__in=clinics_for(user))
        .select_related("clinic", "created_by", "revoked_by")
        .order_by("revoked_at", "-created_at")
    )


def client_clinics_for(user, partner: PartnerOrganisation):
    """The clinics this user may issue the partner's clients for: theirs that work with the partner."""
    return clinics_for(user).filter(partners=partner).order_by("name")


def granted_scopes(application) -> list[str]:
    """The scopes an OAuth2 application may be given: its active partner client's, else none."""
    if application is None:
        return []
    client = PartnerClient.objects.active().filter(application=application).only("scope").first()
    return client.scopes if client else []
