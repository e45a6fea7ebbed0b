"""Writes about patients, as keyword-only functions. Each validates before it saves."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from clinics.models import Clinic

from .models import ConsentDecision, ConsentEntry, ConsentKind, Episode, Patient


@transaction.atomic
def patient_register(*, clinic: Clinic, started_on: date, registered_by, **details) -> Patient:
    """Create a patient and their first, open treatment episode in one transaction.

    `details` are Patient fields (given_name, family_name, date_of_birth, nhs_number, ...).
    Raises ValidationError (naming the field) before anything is saved.
    """
    patient = Patient(clinic=clinic, **details)
    patient.full_clean()
    patient.save()
    episode = Episode(patient=patient, clinic=clinic, started_on=started_on)
    episode.full_clean()
    episode.save()
    return patient


def consent_record(
    *,
    patient: Patient,
    kind: ConsentKind,
    decision: ConsentDecision,
    recorded_by,
    partner=None,
    effective_at=None,
    notes: str = "",
) -> ConsentEntry:
    """Append one consent decision. A withdrawal is a new entry and takes effect at once; nothing is edited."""
    entry = ConsentEntry(
        patient=patient,
        kind=kind,
        partner=partner,
        decision=decision,
        effective_at=effective_at or timezone.now(),
        notes=notes,
        recorded_by=recorded_by,
    )
    entry.full_clean()
    entry.save()
    return entry
