"""Demo referrals for seed_demo: one or more in every state in Middlesbrough. Safe to run twice."""

from datetime import date, timedelta

from django.utils import timezone

from partners.models import PartnerOrganisation
from patients.models import ContactRoute, Sex
from patients.selectors import has_data_sharing_consent

from . import onward_services, services
from .models import (
    EpisodeEnd,
    NeedKind,
    OnwardOutcome,
    OnwardReferral,
    OnwardStatus,
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
    seed_onward(clinic=clinic, keyworker=keyworker, stdout=stdout)


# Onward referrals, one per state, to the demo partners: (partner kind, need kind, need, final state).
ONWARD = [
    ("housing", NeedKind.HOUSING, "Needs a tenancy: sofa-surfing with friends since September.", OnwardStatus.SENT),
    ("employment", NeedKind.EMPLOYMENT, "Wants help back into warehouse work; has a forklift licence.", "acked"),
    ("housing", NeedKind.HOUSING, "Rent arrears letter from the landlord; needs advice.", "booked"),
    ("probation", NeedKind.PROBATION, "Community order: please link up with the supervising officer.", "attended"),
    ("employment", NeedKind.TRAINING, "Interested in a catering course at the college.", "dna"),
    ("housing", NeedKind.HOUSING, "Move-on accommodation from the hostel.", OnwardStatus.CLOSED),
]


def seed_onward(*, clinic, keyworker, stdout):
    """Onward referrals in several states, for patients with live consent for that partner. Safe to run twice."""
    if OnwardReferral.objects.filter(clinic=clinic).exists():
        stdout.write("Onward referrals: demo referrals already there.")
        return
    now = timezone.now()
    partners = {
        p.kind: p for p in PartnerOrganisation.objects.filter(clinics=clinic, is_active=True, name__endswith="(demo)")
    }
    patients = list(clinic.patients.filter(episodes__ended_on__isnull=True).order_by("pk"))
    made = 0
    for index, (kind, need_kind, need, final) in enumerate(ONWARD):
        partner = partners.get(kind)
        patient = (
            next((p for p in patients[index:] + patients[:index] if has_data_sharing_consent(p, partner, at=now)), None)
            if partner
            else None
        )
        if patient is None:
            continue
        start = now - timedelta(days=12 - index)
        referral = onward_services.onward_referral_create(
            patient=patient,
            partner=partner,
            need_kind=need_kind,
            need=need,
            contact_route=patient.contact_route,
            created_by=keyworker,
            now=start,
        )
        made += 1
        step = start + timedelta(hours=20)
        if final == OnwardStatus.SENT:
            continue
        onward_services.onward_referral_acknowledge(referral=referral, by=partner, now=step)
        if final == "acked":
            continue
        if final == "booked":
            onward_services.onward_referral_book(
                referral=referral, appointment_at=now + timedelta(days=3, hours=2), by=partner, now=step
            )
            onward_services.onward_referral_add_note(
                referral=referral, text="Patient asked for a morning slot; booked 10am.", by=partner, now=step
            )
            continue
        onward_services.onward_referral_book(
            referral=referral, appointment_at=step + timedelta(days=2), by=partner, now=step
        )
        onward_services.onward_referral_record_attendance(
            referral=referral, attended=final != "dna", by=partner, now=step + timedelta(days=2, hours=2)
        )
        if final == OnwardStatus.CLOSED:
            onward_services.onward_referral_close(
                referral=referral,
                outcome=OnwardOutcome.NEED_MET,
                notes="Offered a one-bedroom flat in Linthorpe; moving in next month.",
                by=partner,
                now=step + timedelta(days=3),
            )
    stdout.write(f"Onward referrals: {made} demo onward referral(s) added in {clinic.name}.")
