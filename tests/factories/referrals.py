import datetime

import factory

from patients.models import ContactRoute
from referrals.models import EpisodeEnd, PreviousTreatmentEpisode, Referral, ReferralSource, TreatmentKind

from .clinics import StaffFactory


def nhs_number(serial: int) -> str:
    """A valid NHS number (modulus 11 check digit) built from a serial; serials whose check digit is 10 skip on."""
    while True:
        stem = f"{900000000 + serial:09d}"
        total = sum(int(digit) * weight for digit, weight in zip(stem, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            return stem + str(check)
        serial += 1


class ReferralFactory(factory.django.DjangoModelFactory):
    """A new referral of someone who meets every default criterion: ReferralFactory(clinic=clinic).

    Dependence 10 years; 12 months in oral treatment while injecting on 60 of the last ~91 days
    (the RIOTT route); no exclusions.
    """

    class Meta:
        model = Referral

    clinic = None
    created_by = factory.SubFactory(StaffFactory, roles=["keyworker"])
    source = ReferralSource.GP
    referrer_organisation = "Linthorpe Road Surgery"
    received_on = datetime.date(2026, 11, 2)
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    date_of_birth = datetime.date(1985, 6, 15)
    nhs_number = factory.Sequence(lambda n: nhs_number(5000 + n * 7))
    contact_route = ContactRoute.PHONE
    years_dependent = 10
    months_in_oral_treatment = 12
    injecting_days_last_3_months = 60
    pregnant = False
    contraindication = False


class PreviousEpisodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PreviousTreatmentEpisode

    referral = factory.SubFactory(ReferralFactory)
    kind = TreatmentKind.METHADONE
    started_on = datetime.date(2019, 1, 10)
    ended_on = datetime.date(2019, 9, 1)
    why_ended = EpisodeEnd.FAILED


def consent_to_share(patient, partner, *, recorded_by, at=None):
    """Record the patient's data-sharing consent with the partner (as the patients app does)."""
    from patients.models import ConsentDecision, ConsentKind
    from patients.services import consent_record

    return consent_record(
        patient=patient,
        kind=ConsentKind.DATA_SHARING,
        partner=partner,
        decision=ConsentDecision.GIVEN,
        recorded_by=recorded_by,
        effective_at=at,
    )


def withdraw_consent(patient, partner, *, recorded_by, at=None):
    from patients.models import ConsentDecision, ConsentKind
    from patients.services import consent_record

    return consent_record(
        patient=patient,
        kind=ConsentKind.DATA_SHARING,
        partner=partner,
        decision=ConsentDecision.WITHDRAWN,
        recorded_by=recorded_by,
        effective_at=at,
    )


def make_onward_referral(*, patient, partner, created_by, now=None, **fields):
    """An onward referral made through the service (consent must be live): make_onward_referral(patient=..., ...)."""
    from onward.services import onward_referral_create

    values = {
        "need_kind": "housing",
        "need": "Needs a tenancy; sofa-surfing since September.",
        "contact_route": ContactRoute.PHONE,
        **fields,
    }
    return onward_referral_create(patient=patient, partner=partner, created_by=created_by, now=now, **values)
