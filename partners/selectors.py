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


def clients_of(partner: PartnerOrganisation) -> QuerySet[PartnerClient]:
    return partner.clients.select_related("created_by", "revoked_by").order_by("revoked_at", "-created_at")


def granted_scopes(application) -> list[str]:
    """The scopes an OAuth2 application may be given: its active partner client's, else none."""
    if application is None:
        return []
    client = PartnerClient.objects.active().filter(application=application).only("scope").first()
    return client.scopes if client else []
