"""Reads about patients. Every query starts from the user's clinics (clinics.selectors.clinics_for)."""

from datetime import date

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from clinics.access import has_capability
from clinics.roles import Capability
from clinics.selectors import clinics_for

from .models import ConsentDecision, ConsentEntry, ConsentKind, Patient


def patients_for(user) -> QuerySet[Patient]:
    """The patients this member of staff may see: those of their clinics, if their role sees records at all."""
    if not has_capability(user, Capability.VIEW_PATIENTS):
        return Patient.objects.none()
    return Patient.objects.filter(clinic__in=clinics_for(user))


def possible_duplicates(
    *,
    nhs_number: str = "",
    given_name: str = "",
    family_name: str = "",
    date_of_birth: date | None = None,
    exclude_pk: int | None = None,
) -> QuerySet[Patient]:
    """Patients anywhere in the service with the same NHS number, or the same name and date of birth."""
    match = Q(pk__in=[])
    if nhs_number:
        match |= Q(nhs_number=nhs_number)
    if given_name and family_name and date_of_birth:
        match |= Q(
            given_name__iexact=given_name.strip(), family_name__iexact=family_name.strip(), date_of_birth=date_of_birth
        )
    found = Patient.objects.filter(match).select_related("clinic")
    return found.exclude(pk=exclude_pk) if exclude_pk else found


def live_consent(patient: Patient, kind: ConsentKind, partner=None, at=None) -> ConsentEntry | None:
    """The latest consent entry in force at `at` (default now) for this patient, kind and partner."""
    at = at or timezone.now()
    return (
        ConsentEntry.objects.filter(patient=patient, kind=kind, partner=partner, effective_at__lte=at)
        .order_by("-effective_at", "-pk")
        .first()
    )


def has_treatment_consent(patient: Patient, at=None) -> bool:
    entry = live_consent(patient, ConsentKind.TREATMENT, at=at)
    return entry is not None and entry.decision == ConsentDecision.GIVEN


def has_data_sharing_consent(patient: Patient, partner, at=None) -> bool:
    entry = live_consent(patient, ConsentKind.DATA_SHARING, partner=partner, at=at)
    return entry is not None and entry.decision == ConsentDecision.GIVEN


def patients_sharing_with(partner, at=None) -> QuerySet[Patient]:
    """Patients whose latest data-sharing decision for this partner is 'given': one query, for the partner API."""
    at = at or timezone.now()
    latest = (
        ConsentEntry.objects.filter(
            patient=OuterRef("pk"), kind=ConsentKind.DATA_SHARING, partner=partner, effective_at__lte=at
        )
        .order_by("-effective_at", "-pk")
        .values("decision")[:1]
    )
    return Patient.objects.annotate(sharing=Subquery(latest)).filter(sharing=ConsentDecision.GIVEN)
