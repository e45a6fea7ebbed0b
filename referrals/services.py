"""Writes about referrals, as keyword-only functions.

Each transition locks the referral row (select_for_update), returns early when the work is
already done (so a double-click or a retried API call changes nothing), and refuses a move
that the referral's status does not allow with a message naming the field. Who may do what
is checked here too, so the page and the API cannot disagree.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinics.access import has_capability
from clinics.models import Clinic
from clinics.roles import Capability
from patients.services import patient_register

from .models import (
    OPEN_STATUSES,
    EligibilityCriteria,
    PreviousTreatmentEpisode,
    Recommendation,
    Referral,
    ReferralSource,
    ReferralStatus,
)
from .selectors import open_referrals_for_person, referral_assessment, referral_duplicates

PERSON_FIELDS = ("nhs_number", "given_name", "family_name", "date_of_birth")


@dataclass(frozen=True)
class EpisodeInput:
    """One previous oral treatment episode as given at intake."""

    started_on: date
    why_ended: str
    kind: str = "methadone"
    ended_on: date | None = None
    notes: str = ""


def _require(user, *capabilities: Capability) -> None:
    if not any(has_capability(user, capability) for capability in capabilities):
        names = " or ".join(f"'{capability.label}'" for capability in capabilities)
        raise PermissionDenied(f"This needs the {names} permission.")


def _d(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def check_no_open_referral(
    *, nhs_number: str, given_name: str, family_name: str, date_of_birth: date | None, exclude_pk=None
) -> None:
    """A person has at most one open referral in the service; a second is refused, naming the first."""
    existing = (
        open_referrals_for_person(
            nhs_number=nhs_number,
            given_name=given_name,
            family_name=family_name,
            date_of_birth=date_of_birth,
            exclude_pk=exclude_pk,
        )
        .order_by("pk")
        .first()
    )
    if existing is None:
        return
    field = "nhs_number" if nhs_number and existing.nhs_number == nhs_number else "date_of_birth"
    how = "the same NHS number" if field == "nhs_number" else "the same name and date of birth"
    raise ValidationError(
        {
            field: (
                f"There is already an open referral for {how}: referral {existing.pk} at {existing.clinic.name}, "
                f"received {_d(existing.received_on)} ({existing.get_status_display().lower()}). "
                "Continue with that referral, or withdraw it first."
            )
        },
        code="open_referral_exists",
    )


@transaction.atomic
def referral_create(
    *,
    clinic: Clinic,
    created_by=None,
    submitted_by_partner=None,
    source: str,
    received_on: date,
    given_name: str,
    family_name: str,
    date_of_birth: date,
    previous_episodes: Iterable[EpisodeInput | dict] = (),
    confirm_not_duplicate: bool = False,
    **details,
) -> Referral:
    """Take a referral in: the person, the referrer, the history and any previous oral treatment.

    Also the entry point for partner submissions (police, probation): pass
    `submitted_by_partner` instead of `created_by`. Before anything is saved it refuses a
    second open referral for the same person and, unless the caller has confirmed they
    checked, flags existing patients who may be the same person. A partner is never told
    about our patients or referrals: its submission skips the patient check (the keyworker
    sees possible duplicates when assessing) and is received even when the person has an open
    referral already, linked to it as `possible_duplicate_of` for the keyworker to check.
    Raises ValidationError naming the field.
    """
    if submitted_by_partner is not None:
        _check_partner_may_submit(submitted_by_partner, clinic, source)
        created_by = None
        confirm_not_duplicate = True
    else:
        _require(created_by, Capability.HANDLE_REFERRALS)
    if source not in ReferralSource.values:
        raise ValidationError({"source": f"'{source}' is not a referral source."})
    referral = Referral(
        clinic=clinic,
        created_by=created_by,
        submitted_by_partner=submitted_by_partner,
        source=source,
        received_on=received_on,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        status=ReferralStatus.NEW,
        **details,
    )
    # The constraints are checked below with a clearer message, and by the database on save.
    referral.full_clean(exclude=["created_by", "submitted_by_partner"], validate_constraints=False)

    episodes = [
        PreviousTreatmentEpisode(**(episode if isinstance(episode, dict) else episode.__dict__))
        for episode in previous_episodes
    ]
    episode_errors = {}
    for index, episode in enumerate(episodes):
        try:
            episode.full_clean(exclude=["referral"])
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                episode_errors[f"previous_episodes[{index}].{name}"] = messages
    if episode_errors:
        raise ValidationError(episode_errors)

    person = {name: getattr(referral, name) for name in PERSON_FIELDS}
    if submitted_by_partner is not None:
        # SPEC 6, minimum data: the answer to a partner never depends on whom we already know, so
        # its referral is always received; an open referral of the same person is linked for staff.
        referral.possible_duplicate_of = open_referrals_for_person(**person).order_by("pk").first()
    else:
        check_no_open_referral(**person)
    if not confirm_not_duplicate:
        found = referral_duplicates(**person)
        if found.patients:
            raise ValidationError(
                {
                    "confirm_not_duplicate": (
                        f"{len(found.patients)} patient record(s) may be this person (same NHS number, or same name "
                        "and date of birth). Check them; if this is someone else, confirm and submit again."
                    )
                },
                code="possible_duplicate",
            )

    try:
        try:
            with transaction.atomic():
                referral.save()
        except IntegrityError:
            if submitted_by_partner is None or referral.possible_duplicate_of is not None:
                raise
            # A partner's: another intake of the same person committed a moment ago; link it and receive.
            referral.possible_duplicate_of = open_referrals_for_person(**person).order_by("pk").first()
            with transaction.atomic():
                referral.save()
    except IntegrityError as error:
        # Another intake for the same person committed between our check and our insert.
        raise ValidationError(
            {
                "nhs_number"
                if referral.nhs_number
                else "date_of_birth": "There is already an open referral for this person."
            }
        ) from error
    for episode in episodes:
        episode.referral = referral
        episode.save()
    return referral


# SPEC 6: police and probation partners may submit incoming referrals, each as its own source.
PARTNER_SOURCES = {"police": ReferralSource.POLICE_DIVERSION, "probation": ReferralSource.PROBATION}


def _check_partner_may_submit(partner, clinic: Clinic, source: str) -> None:
    if partner.kind not in PARTNER_SOURCES or not partner.is_active:
        raise PermissionDenied("Only active police and probation partners may submit referrals.")
    if not partner.clinics.filter(pk=clinic.pk).exists():
        raise ValidationError({"clinic": f"Your organisation does not work with {clinic.name}."})
    if source != PARTNER_SOURCES[partner.kind]:
        raise ValidationError(
            {"source": f"Referrals from your organisation have the source '{PARTNER_SOURCES[partner.kind]}'."}
        )


def _locked(referral: Referral) -> Referral:
    return Referral.objects.select_for_update().select_related("clinic").get(pk=referral.pk)


def _refuse_unless(referral: Referral, allowed: tuple, action: str) -> None:
    if referral.status not in allowed:
        raise ValidationError(
            {"status": f"This referral is {referral.get_status_display().lower()}; it cannot be {action} now."},
            code="wrong_status",
        )


@transaction.atomic
def referral_start_assessment(*, referral: Referral, by, now=None) -> Referral:
    _require(by, Capability.HANDLE_REFERRALS)
    referral = _locked(referral)
    if referral.status != ReferralStatus.NEW:
        _refuse_unless(referral, (ReferralStatus.ASSESSING,), "assessed")
        return referral  # already being assessed
    referral.status = ReferralStatus.ASSESSING
    referral.assessed_by = by
    referral.assessment_started_at = now or timezone.now()
    referral.save()
    return referral


@transaction.atomic
def referral_recommend(*, referral: Referral, by, recommendation: str, notes: str = "", now=None) -> Referral:
    """The keyworker's recommendation; the referral then waits for a prescriber."""
    _require(by, Capability.HANDLE_REFERRALS)
    notes = (notes or "").strip()
    if recommendation not in Recommendation.values:
        raise ValidationError({"recommendation": "Choose accept or decline."})
    if recommendation == Recommendation.DECLINE and not notes:
        raise ValidationError({"notes": "Say why you recommend declining this referral."})
    referral = _locked(referral)
    if referral.status == ReferralStatus.AWAITING_PRESCRIBER and referral.recommendation == recommendation:
        return referral  # already recommended (a resubmitted form)
    _refuse_unless(
        referral, (ReferralStatus.NEW, ReferralStatus.ASSESSING, ReferralStatus.AWAITING_PRESCRIBER), "recommended"
    )
    moment = now or timezone.now()
    if referral.assessed_by_id is None:
        referral.assessed_by, referral.assessment_started_at = by, moment
    referral.status = ReferralStatus.AWAITING_PRESCRIBER
    referral.recommendation = recommendation
    referral.recommendation_notes = notes
    referral.recommended_by = by
    referral.recommended_at = moment
    referral.save()
    return referral


def _patient_fields(referral: Referral) -> dict:
    keyworker = referral.recommended_by or referral.assessed_by
    fields = {
        "given_name": referral.given_name,
        "family_name": referral.family_name,
        "date_of_birth": referral.date_of_birth,
        "nhs_number": referral.nhs_number,
        "sex": referral.sex,
        "phone": referral.phone,
        "contact_route": referral.contact_route,
        "contact_notes": referral.contact_notes,
        "keyworker": keyworker if keyworker and has_capability(keyworker, Capability.HANDLE_REFERRALS) else None,
    }
    if referral.source == ReferralSource.GP and referral.referrer_organisation:
        fields["gp_practice"] = referral.referrer_organisation
    return fields


@transaction.atomic
def referral_accept(
    *,
    referral: Referral,
    by,
    reason: str = "",
    override_reason: str = "",
    started_on: date | None = None,
    now=None,
) -> Referral:
    """A prescriber accepts: the patient and their first treatment episode are created in this same transaction.

    A criterion that is not met or not known needs a written override reason. A failure
    anywhere (e.g. the NHS number is already registered) rolls back everything.
    """
    _require(by, Capability.SIGN_OFF_REFERRALS)
    moment = now or timezone.now()
    referral = _locked(referral)
    if referral.status == ReferralStatus.ACCEPTED:
        return referral  # already accepted: never a second patient
    _refuse_unless(referral, (ReferralStatus.AWAITING_PRESCRIBER,), "accepted until a keyworker has recommended it")

    decided_on = timezone.localdate(moment, referral.clinic.zone)
    assessment = referral_assessment(referral, on=decided_on)
    override_reason = (override_reason or "").strip()
    if assessment.needs_override and not override_reason:
        names = ", ".join(
            f"{result.label.lower()} ({result.outcome.label.lower()})" for result in assessment.needs_override
        )
        raise ValidationError(
            {"override_reason": f"Not every criterion is met: {names}. Write why you accept this referral anyway."},
            code="override_needed",
        )

    duplicates = referral_duplicates(nhs_number=referral.nhs_number).patients
    if duplicates:
        raise ValidationError(
            {
                "nhs_number": (
                    f"A patient with this NHS number is already registered (patient {duplicates[0].pk}). "
                    "Re-admit them from their record and withdraw this referral."
                )
            }
        )

    patient = patient_register(
        clinic=referral.clinic,
        started_on=started_on or decided_on,
        registered_by=by,
        **_patient_fields(referral),
    )
    referral.status = ReferralStatus.ACCEPTED
    referral.decided_by = by
    referral.decided_at = moment
    referral.decision_reason = (reason or "").strip()
    referral.override_reason = override_reason if assessment.needs_override else ""
    referral.patient = patient
    referral.save()
    return referral


@transaction.atomic
def referral_decline(*, referral: Referral, by, reason: str, now=None) -> Referral:
    _require(by, Capability.SIGN_OFF_REFERRALS)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this referral is declined; the referrer will be told."})
    referral = _locked(referral)
    if referral.status == ReferralStatus.DECLINED:
        return referral
    _refuse_unless(referral, OPEN_STATUSES, "declined")
    referral.status = ReferralStatus.DECLINED
    referral.decided_by = by
    referral.decided_at = now or timezone.now()
    referral.decision_reason = reason
    referral.save()
    return referral


@transaction.atomic
def referral_withdraw(*, referral: Referral, by, reason: str, now=None) -> Referral:
    """The person or the referrer no longer wants the referral; it closes without a decision."""
    _require(by, Capability.HANDLE_REFERRALS, Capability.SIGN_OFF_REFERRALS)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the referral is withdrawn."})
    referral = _locked(referral)
    if referral.status == ReferralStatus.WITHDRAWN:
        return referral
    _refuse_unless(referral, OPEN_STATUSES, "withdrawn")
    referral.status = ReferralStatus.WITHDRAWN
    referral.withdrawn_by = by
    referral.withdrawn_at = now or timezone.now()
    referral.withdrawal_reason = reason
    referral.save()
    return referral


@transaction.atomic
def eligibility_criteria_update(*, clinic: Clinic, by, **values) -> EligibilityCriteria:
    """The clinic manager changes the clinic's criteria; open referrals are judged by the new ones at once."""
    _require(by, Capability.MANAGE_CLINIC)
    criteria, _ = EligibilityCriteria.objects.select_for_update().get_or_create(clinic=clinic)
    for name, value in values.items():
        setattr(criteria, name, value)
    criteria.full_clean()
    criteria.save()
    return criteria
