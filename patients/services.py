"""Writes about patients, as keyword-only functions. Each validates before it saves; nothing is half-saved.

Transitions (discharge, re-admission, consent changes) lock the patient row first, so two
members of staff pressing the same button at once get one change and one clear refusal.
"""

import io
from datetime import date

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from PIL import Image, ImageOps, UnidentifiedImageError

from clinics.models import Clinic
from clinics.roles import Capability
from clinics.selectors import clinics_for

from . import consent_hooks, episode_hooks, rules
from .models import (
    AccessLogEntry,
    AccessPart,
    ConsentDecision,
    ConsentEntry,
    ConsentKind,
    DischargeReason,
    Episode,
    OutcomeInterview,
    Patient,
    PatientStatus,
)
from .selectors import (
    DuplicateReport,
    duplicates_for,
    live_consent,
    may_hear_of_matches_elsewhere,
    possible_duplicates,
)
from .validators import PHOTO_MAX_BYTES, PHOTO_MAX_PIXELS, normalise_nhs_number, photo_too_many_pixels

# Fields a keyworker may set on registration or edit; clinic, status and photo have their own services.
DETAIL_FIELDS = (
    "nhs_number",
    "given_name",
    "family_name",
    "preferred_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address",
    "contact_route",
    "contact_notes",
    "gp_practice",
    "clinical_alert",
    "keyworker",
)
NHS_NUMBER_TAKEN = "NHS number: a patient with this NHS number is already registered."
PHOTO_MAX_SIDE = 1200


def _today(clinic: Clinic, now=None) -> date:
    return timezone.localdate(now or timezone.now(), clinic.zone)


def _locked(patient: Patient) -> Patient:
    return Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)


def _check_keyworker(keyworker, clinic: Clinic) -> None:
    if keyworker is None:
        return
    works_here = keyworker.clinics.filter(pk=clinic.pk).exists()
    if not works_here or not keyworker.has_perm(Capability.HANDLE_REFERRALS.perm):
        raise ValidationError({"keyworker": f"Keyworker must be a keyworker at {clinic.name}."})


def _save_details(patient: Patient, *, on: date) -> None:
    patient.nhs_number = normalise_nhs_number(patient.nhs_number)
    errors = {}
    try:
        rules.check_date_of_birth(patient.date_of_birth, on=on)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        _check_keyworker(patient.keyworker, patient.clinic)
    except ValidationError as error:
        errors.update(error.message_dict)
    if patient.nhs_number and Patient.objects.filter(nhs_number=patient.nhs_number).exclude(pk=patient.pk).exists():
        errors["nhs_number"] = [NHS_NUMBER_TAKEN]
    try:
        patient.full_clean(exclude=[name for name in errors if name != "__all__"])
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, messages)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():  # a savepoint: a racing registration must not poison the caller's transaction
            patient.save()
    except IntegrityError as error:
        if "unique_nhs_number" in str(error):
            raise ValidationError({"nhs_number": NHS_NUMBER_TAKEN}) from error
        raise


def access_log_record(*, user, patient: Patient, what: AccessPart, channel: AccessLogEntry.Channel) -> None:
    """SPEC 8: one entry for every view of a patient's record or a part of it."""
    AccessLogEntry.objects.create(user=user, patient=patient, what=what, channel=channel)


def partner_access_record(*, partner, patient: Patient, what: AccessPart, channel: AccessLogEntry.Channel) -> None:
    """Issue 16: a partner's read of what the patient agreed to share, in the same log as staff views."""
    AccessLogEntry.objects.create(partner=partner, patient=patient, what=what, channel=channel)


def matches_elsewhere_record(*, user, patients, channel: AccessLogEntry.Channel) -> list[Patient]:
    """Issue 11: a duplicate check that matched patients of other clinics told the user they are in
    treatment there. Each such match goes to that patient's access log; returns those patients."""
    if not may_hear_of_matches_elsewhere(user):
        return []
    mine = set(clinics_for(user).values_list("pk", flat=True))
    elsewhere = [patient for patient in patients if patient.clinic_id not in mine]
    AccessLogEntry.objects.bulk_create(
        AccessLogEntry(user=user, patient=patient, what=AccessPart.DUPLICATE_MATCH, channel=channel)
        for patient in elsewhere
    )
    return elsewhere


def duplicates_check(*, user, channel: AccessLogEntry.Channel, **person) -> DuplicateReport:
    """Possible duplicates as this user may be told them, with each match at another clinic logged."""
    report = duplicates_for(user, **person)
    matches_elsewhere_record(user=user, patients=report.elsewhere_patients, channel=channel)
    return report


@transaction.atomic
def patient_register(
    *, clinic: Clinic, started_on: date, registered_by, allow_duplicates: bool = True, now=None, **details
) -> Patient:
    """Create a patient and their first, open treatment episode in one transaction.

    `details` are Patient fields (given_name, family_name, date_of_birth, nhs_number, ...).
    With allow_duplicates=False a possible duplicate (same NHS number, or same name and date
    of birth) is refused until the caller confirms it. A second record for the same NHS number
    is always refused. Raises ValidationError (naming the field) before anything is saved.
    """
    patient = Patient(clinic=clinic, **details)
    patient.nhs_number = normalise_nhs_number(patient.nhs_number)
    if not allow_duplicates:
        duplicates = possible_duplicates(
            nhs_number=patient.nhs_number,
            given_name=patient.given_name,
            family_name=patient.family_name,
            date_of_birth=patient.date_of_birth,
        )
        if duplicates.exists():
            raise ValidationError(
                {
                    "confirm_duplicates": "This person may already be registered (same NHS number, or same name and "
                    "date of birth). Check the possible duplicates, then confirm to register anyway."
                }
            )
    patient._history_user = registered_by
    _save_details(patient, on=_today(clinic, now))
    episode = Episode(patient=patient, clinic=clinic, started_on=started_on)
    episode._history_user = registered_by
    episode.full_clean()
    episode.save()
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, updated_by, now=None, **changes) -> Patient:
    """Change a patient's details (not their clinic, status or photo). Every change is kept in the history."""
    unknown = set(changes) - set(DETAIL_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be changed here." for name in sorted(unknown)})
    patient = _locked(patient)
    for name, value in changes.items():
        setattr(patient, name, value)
    patient._history_user = updated_by
    _save_details(patient, on=_today(patient.clinic, now))
    return patient


@transaction.atomic
def patient_photo_set(*, patient: Patient, upload, set_by) -> Patient:
    """Store an identification photo: checked to be an image, at most 5 MB, re-encoded as JPEG.

    Re-encoding drops the camera's metadata (location, device) and any content hidden behind the image.
    """
    if upload is None:
        raise ValidationError({"photo": "Photo: choose an image file to upload."})
    if upload.size > PHOTO_MAX_BYTES:
        raise ValidationError({"photo": f"Photo is too large ({upload.size / 1024 / 1024:.1f} MB); the most is 5 MB."})
    try:
        upload.seek(0)
        with Image.open(upload) as probe:  # reads the header only
            width, height = probe.size
            if width * height > PHOTO_MAX_PIXELS:  # before anything decodes it: a small file can claim a huge image
                raise ValidationError({"photo": photo_too_many_pixels(width, height)})
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=85)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ValidationError({"photo": "Photo must be an image file (JPEG, PNG or similar)."}) from error
    patient = _locked(patient)
    patient._history_user = set_by
    # The old file stays: the change history still points at it.
    patient.photo.save("photo.jpg", ContentFile(buffer.getvalue()), save=False)
    patient.save(update_fields=["photo", "updated_at"])
    return patient


@transaction.atomic
def patient_discharge(
    *, patient: Patient, reason: str, discharged_by, ended_on: date | None = None, notes: str = "", now=None
) -> Episode:
    """SPEC 3.8: close the open episode with a reason from the controlled list; the patient is discharged.

    S13: what treats the patient ends with the episode, in this same transaction (the handlers of
    `episode_hooks`: dosing stops the prescriptions and cancels the future slots).
    """
    now = now or timezone.now()
    patient = _locked(patient)
    episode = patient.episodes.filter(ended_on__isnull=True).first()
    if episode is None:
        last = patient.episodes.order_by("-ended_on").first()
        since = f" on {date_format(last.ended_on, 'j F Y')}" if last and last.ended_on else ""
        raise ValidationError(f"This patient was already discharged{since}; nothing was changed.")
    today = _today(patient.clinic, now)
    ended_on = ended_on or today
    errors = {}
    if reason not in DischargeReason.values:
        errors["reason"] = "Discharge reason: choose one from the list."
    elif reason == DischargeReason.OTHER and not notes.strip():
        errors["notes"] = "Notes: say why, when the discharge reason is 'Other'."
    if ended_on > today:
        errors["ended_on"] = "Discharge date cannot be in the future."
    elif ended_on < episode.started_on:
        errors["ended_on"] = (
            f"Discharge date cannot be before the episode started ({date_format(episode.started_on, 'j F Y')})."
        )
    if errors:
        raise ValidationError(errors)
    episode.ended_on = ended_on
    episode.discharge_reason = reason
    episode.discharge_notes = notes.strip()
    episode.discharged_by = discharged_by
    episode._history_user = discharged_by
    episode.full_clean()
    episode.save()
    patient.status = PatientStatus.DISCHARGED
    patient._history_user = discharged_by
    patient.save(update_fields=["status", "updated_at"])
    episode_hooks.episode_ended(episode=episode, by=discharged_by, now=now)
    return episode


@transaction.atomic
def patient_readmit(*, patient: Patient, readmitted_by, started_on: date | None = None, now=None) -> Episode:
    """Open a new episode for a discharged patient; earlier episodes are kept as they were."""
    patient = _locked(patient)
    if patient.episodes.filter(ended_on__isnull=True).exists():
        raise ValidationError("This patient is already in treatment (their episode is open); nothing was changed.")
    today = _today(patient.clinic, now)
    started_on = started_on or today
    last = patient.episodes.order_by("-ended_on").first()
    if started_on > today:
        raise ValidationError({"started_on": "Start date cannot be in the future."})
    if last is not None and last.ended_on and started_on < last.ended_on:
        raise ValidationError(
            {"started_on": f"Start date cannot be before the last discharge ({date_format(last.ended_on, 'j F Y')})."}
        )
    episode = Episode(patient=patient, clinic=patient.clinic, started_on=started_on)
    episode._history_user = readmitted_by
    episode.full_clean()
    episode.save()
    patient.status = PatientStatus.INDUCTION
    patient._history_user = readmitted_by
    patient.save(update_fields=["status", "updated_at"])
    return episode


@transaction.atomic
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
    """Append one consent decision. A withdrawal is a new entry and takes effect at once; nothing is edited.

    SPEC 3.3: data sharing is per partner agency, and only with partners of the patient's clinic.
    """
    patient = _locked(patient)
    effective_at = effective_at or timezone.now()
    if kind == ConsentKind.DATA_SHARING:
        if partner is None:
            raise ValidationError({"partner": "Partner: choose the agency this data-sharing consent is for."})
        # Giving consent needs a partner the clinic works with; withdrawing it never depends on the
        # partner's state (unlinked, deactivated): a withdrawal must always stop the sharing (SPEC 3.3).
        if decision == ConsentDecision.GIVEN and (
            not partner.is_active or not partner.clinics.filter(pk=patient.clinic_id).exists()
        ):
            raise ValidationError({"partner": f"Partner: {partner.name} is not a partner of {patient.clinic.name}."})
    elif kind == ConsentKind.TREATMENT:
        if partner is not None:
            raise ValidationError({"partner": "Partner: a treatment consent is not for a partner agency."})
    else:
        raise ValidationError({"kind": "Kind: choose treatment or data sharing."})
    if decision not in ConsentDecision.values:
        raise ValidationError({"decision": "Decision: choose given or withdrawn."})
    if decision == ConsentDecision.WITHDRAWN:
        live = live_consent(patient, kind, partner=partner, at=effective_at)
        if live is None or live.decision != ConsentDecision.GIVEN:
            what = "treatment consent" if kind == ConsentKind.TREATMENT else f"data-sharing consent with {partner.name}"
            raise ValidationError({"decision": f"Decision: there is no {what} in force to withdraw."})
    entry = ConsentEntry(
        patient=patient,
        kind=kind,
        partner=partner,
        decision=decision,
        effective_at=effective_at,
        notes=notes,
        recorded_by=recorded_by,
    )
    entry._history_user = recorded_by
    entry.full_clean()
    entry.save()
    if kind == ConsentKind.DATA_SHARING and decision == ConsentDecision.WITHDRAWN:
        consent_hooks.data_sharing_withdrawn(patient=patient, partner=partner, now=effective_at)
    return entry


@transaction.atomic
def outcome_interview_record(
    *, patient: Patient, recorded_by, interviewed_on: date | None = None, now=None, **answers
) -> OutcomeInterview:
    """SPEC 3.6: a TOP interview about the last 28 days, for the patient's open episode."""
    patient = _locked(patient)
    today = _today(patient.clinic, now)
    interviewed_on = interviewed_on or today
    rules.check_top_values(answers)
    episode = patient.episodes.filter(ended_on__isnull=True).first()
    if episode is None:
        raise ValidationError("This patient is discharged; re-admit them before recording an outcome interview.")
    if interviewed_on > today:
        raise ValidationError({"interviewed_on": "Interview date cannot be in the future."})
    if interviewed_on < episode.started_on:
        raise ValidationError(
            {
                "interviewed_on": "Interview date cannot be before this episode started "
                f"({date_format(episode.started_on, 'j F Y')})."
            }
        )
    fields = set(OutcomeInterview.DAY_FIELDS) | set(OutcomeInterview.RATING_FIELDS) | set(rules.TOP_YES_NO_FIELDS)
    interview = OutcomeInterview(
        patient=patient,
        episode=episode,
        interviewed_on=interviewed_on,
        recorded_by=recorded_by,
        **{name: answers[name] for name in fields},
    )
    interview._history_user = recorded_by
    interview.full_clean()
    interview.save()
    return interview
