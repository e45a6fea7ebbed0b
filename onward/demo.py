"""Demo onward referrals for seed_demo: one in each state, to the demo partners of Middlesbrough. Safe to run twice."""

from datetime import timedelta

from django.utils import timezone

from partners.models import PartnerOrganisation
from patients.selectors import has_data_sharing_consent

from . import services as onward_services
from .models import NeedKind, OnwardOutcome, OnwardReferral, OnwardStatus


def seed(*, clinics, staff, stdout):
    seed_onward(clinic=clinics["mbro"], keyworker=staff["keyworker"], stdout=stdout)


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
