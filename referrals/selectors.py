"""Reads about referrals. Every query starts from the user's clinics (clinics.selectors.clinics_for)."""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from clinics.access import has_capability
from clinics.models import Clinic
from clinics.roles import Capability
from clinics.selectors import clinics_for
from patients.models import Patient
from patients.selectors import possible_duplicates, same_person

from .models import OPEN_STATUSES, EligibilityCriteria, Referral, ReferralStatus
from .rules import Assessment, assess


def can_see_referrals(user) -> bool:
    """Keyworkers and prescribers work on referrals; clinic managers see them (SPEC 2), read-only."""
    return any(
        has_capability(user, capability)
        for capability in (Capability.HANDLE_REFERRALS, Capability.SIGN_OFF_REFERRALS, Capability.VIEW_REFERRALS)
    )


def referrals_for(user) -> QuerySet[Referral]:
    """The referrals this member of staff may see: those of their clinics, if they handle or sign off referrals."""
    if not can_see_referrals(user):
        return Referral.objects.none()
    return Referral.objects.filter(clinic__in=clinics_for(user))


def referral_inbox(user, *, clinic: Clinic | None = None, status: str = "") -> QuerySet[Referral]:
    referrals = referrals_for(user).select_related("clinic")
    if clinic is not None:
        referrals = referrals.filter(clinic=clinic)
    if status == "open":
        referrals = referrals.filter(status__in=OPEN_STATUSES)
    elif status:
        referrals = referrals.filter(status=status)
    return referrals.order_by("-received_on", "-pk")


def referral_detail(user, pk: int) -> Referral:
    """One referral with what its page needs; raises Referral.DoesNotExist for another clinic's."""
    return (
        referrals_for(user)
        .select_related(
            "clinic",
            "created_by",
            "submitted_by_partner",
            "possible_duplicate_of__clinic",
            "assessed_by",
            "recommended_by",
            "decided_by",
            "withdrawn_by",
            "patient",
        )
        .prefetch_related("previous_episodes")
        .get(pk=pk)
    )


def eligibility_criteria_for(clinic: Clinic) -> EligibilityCriteria:
    """The clinic's criteria, or the defaults (unsaved) if its manager has not changed them."""
    try:
        return clinic.eligibility_criteria
    except EligibilityCriteria.DoesNotExist:
        return EligibilityCriteria(clinic=clinic)


def assessment_date(referral: Referral) -> date:
    """Decided referrals are judged as on the day of the decision; open ones as on today in the clinic."""
    moment = referral.decided_at or timezone.now()
    return timezone.localdate(moment, referral.clinic.zone)


def referral_assessment(referral: Referral, *, on: date | None = None) -> Assessment:
    return assess(
        referral,
        eligibility_criteria_for(referral.clinic),
        on=on or assessment_date(referral),
        episodes=list(referral.previous_episodes.all()),
    )


@dataclass
class Duplicates:
    """People who may be the one being referred: patients anywhere in the service, and open referrals."""

    patients: list[Patient] = field(default_factory=list)
    open_referrals: list[Referral] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.patients or self.open_referrals)


def open_referrals_for_person(
    *,
    nhs_number: str = "",
    given_name: str = "",
    family_name: str = "",
    date_of_birth: date | None = None,
    exclude_pk: int | None = None,
) -> QuerySet[Referral]:
    """Open referrals anywhere in the service with the same NHS number, or the same name and date of birth."""
    match = same_person(
        nhs_number=nhs_number, given_name=given_name, family_name=family_name, date_of_birth=date_of_birth
    )
    found = Referral.objects.filter(match, status__in=OPEN_STATUSES).select_related("clinic")
    return found.exclude(pk=exclude_pk) if exclude_pk else found


def referral_duplicates(
    *, nhs_number: str = "", given_name: str = "", family_name: str = "", date_of_birth: date | None = None
) -> Duplicates:
    person = {
        "nhs_number": nhs_number,
        "given_name": given_name,
        "family_name": family_name,
        "date_of_birth": date_of_birth,
    }
    return Duplicates(
        patients=list(possible_duplicates(**person)),
        open_referrals=list(open_referrals_for_person(**person)),
    )


# --- Home page work queues (clinics.work_queues) ---------------------------------------------------


def referrals_awaiting_assessment(user, clinic: Clinic) -> int:
    return referral_inbox(user, clinic=clinic).filter(status__in=[ReferralStatus.NEW, ReferralStatus.ASSESSING]).count()


def referrals_awaiting_sign_off(user, clinic: Clinic) -> int:
    return referral_inbox(user, clinic=clinic, status=ReferralStatus.AWAITING_PRESCRIBER).count()
