"""Demo referrals for seed_demo: one or more in every state in Middlesbrough. Safe to run twice."""

from datetime import date, timedelta

from django.utils import timezone

from patients.models import ContactRoute, Sex

from . import services
from .models import (
    EpisodeEnd,
    Recommendation,
    Referral,
    ReferralSource,
    ReferralStatus,
    TreatmentKind,
)

# given, family, date of birth, sex, source, days ago received, final status
PEOPLE = [
    ("Jamie", "Lister", date(1988, 3, 14), Sex.MALE, ReferralSource.GP, 1, ReferralStatus.NEW),
    (
        "Shannon",
        "Tait",
        date(1991, 7, 2),
        Sex.FEMALE,
        ReferralSource.COMMUNITY_DRUG_SERVICE,
        6,
        ReferralStatus.ASSESSING,
    ),
    (
        "Darren",
        "Pickering",
        date(1979, 11, 23),
        Sex.MALE,
        ReferralSource.PROBATION,
        12,
        ReferralStatus.AWAITING_PRESCRIBER,
    ),
    ("Lee", "Harland", date(1983, 5, 9), Sex.MALE, ReferralSource.POLICE_DIVERSION, 20, ReferralStatus.ACCEPTED),
    ("Gemma", "Rowe", date(2001, 9, 30), Sex.FEMALE, ReferralSource.SELF, 25, ReferralStatus.DECLINED),
    ("Craig", "Molloy", date(1975, 1, 17), Sex.MALE, ReferralSource.OTHER, 30, ReferralStatus.WITHDRAWN),
]


def seed(*, clinics, staff, stdout):
    clinic = clinics["mbro"]
    keyworker, prescriber = staff["keyworker"], staff["prescriber"]
    today = timezone.localdate(timezone.now(), clinic.zone)
    made = 0
    for given, family, born, sex, source, days_ago, final in PEOPLE:
        if Referral.objects.filter(clinic=clinic, given_name=given, family_name=family, date_of_birth=born).exists():
            continue
        received = today - timedelta(days=days_ago)
        eligible = final != ReferralStatus.DECLINED
        referral = services.referral_create(
            clinic=clinic,
            created_by=keyworker,
            source=source,
            received_on=received,
            referrer_organisation={
                ReferralSource.GP: "Linthorpe Road Surgery",
                ReferralSource.PROBATION: "Probation Service, Teesside",
                ReferralSource.POLICE_DIVERSION: "Cleveland Police diversion scheme",
                ReferralSource.COMMUNITY_DRUG_SERVICE: "Middlesbrough Recovery Together",
            }.get(source, ""),
            given_name=given,
            family_name=family,
            date_of_birth=born,
            sex=sex,
            contact_route=ContactRoute.PHONE if source != ReferralSource.SELF else ContactRoute.AT_CLINIC,
            phone="07700 900" + str(100 + made),
            years_dependent=12 if eligible else 2,
            months_in_oral_treatment=9 if eligible else 3,
            injecting_days_last_3_months=60 if eligible else 20,
            pregnant=False if final != ReferralStatus.NEW else None,
            contraindication=False if final != ReferralStatus.NEW else None,
            previous_episodes=[
                {
                    "kind": TreatmentKind.METHADONE,
                    "started_on": received - timedelta(days=2000),
                    "ended_on": received - timedelta(days=1500),
                    "why_ended": EpisodeEnd.FAILED,
                },
                {
                    "kind": TreatmentKind.BUPRENORPHINE,
                    "started_on": received - timedelta(days=1200),
                    "ended_on": received - timedelta(days=900),
                    "why_ended": EpisodeEnd.DROPPED_OUT,
                },
            ]
            if eligible
            else [],
            confirm_not_duplicate=True,
        )
        made += 1
        if final == ReferralStatus.NEW:
            continue
        if final == ReferralStatus.WITHDRAWN:
            services.referral_withdraw(
                referral=referral, by=keyworker, reason="Moved to Newcastle; referred to the service there."
            )
            continue
        services.referral_start_assessment(referral=referral, by=keyworker)
        if final == ReferralStatus.ASSESSING:
            continue
        services.referral_recommend(
            referral=referral,
            by=keyworker,
            recommendation=Recommendation.ACCEPT if eligible else Recommendation.DECLINE,
            notes="" if eligible else "Two years of use and no oral treatment tried yet; methadone first.",
        )
        if final == ReferralStatus.ACCEPTED:
            services.referral_accept(referral=referral, by=prescriber, reason="Meets every criterion.")
        elif final == ReferralStatus.DECLINED:
            services.referral_decline(
                referral=referral,
                by=prescriber,
                reason="Below the clinic's criteria: 2 years of dependence and no oral treatment yet. Refer to "
                "the community drug service for methadone.",
            )
    stdout.write(f"Referrals: {made} demo referral(s) added in {clinic.name}.")
