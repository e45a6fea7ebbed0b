"""A dozen demo patients across both clinics, with consents, a TOP interview each and one discharge.

Idempotent: patients are keyed on their (valid, made-up) NHS numbers, so a second run adds nothing.
"""

from datetime import date, timedelta

from django.utils import timezone

from partners.models import PartnerOrganisation

from . import services
from .models import ConsentDecision, ConsentKind, ContactRoute, DischargeReason, Patient, PatientStatus, Sex
from .validators import nhs_number_is_valid

# given, family, preferred, born, sex, clinic, days in treatment
PEOPLE = [
    ("Daniel", "Armstrong", "Dan", (1978, 3, 14), Sex.MALE, "mbro", 400),
    ("Lisa", "Bennett", "", (1982, 11, 2), Sex.FEMALE, "mbro", 200),
    ("Craig", "Dawson", "", (1975, 6, 30), Sex.MALE, "mbro", 120),
    ("Michelle", "Foster", "Shell", (1986, 1, 19), Sex.FEMALE, "mbro", 85),
    ("Gary", "Hodgson", "", (1971, 9, 8), Sex.MALE, "mbro", 60),
    ("Kelly", "Jackson", "", (1990, 4, 25), Sex.FEMALE, "mbro", 30),
    ("Paul", "Lambert", "", (1980, 12, 1), Sex.MALE, "mbro", 10),
    ("Stephen", "Marshall", "Steve", (1969, 7, 17), Sex.MALE, "mbro", 300),
    ("Joanne", "Nicholson", "Jo", (1984, 2, 11), Sex.FEMALE, "darl", 250),
    ("Wayne", "Pearson", "", (1977, 10, 5), Sex.MALE, "darl", 95),
    ("Sarah", "Robson", "", (1988, 8, 22), Sex.FEMALE, "darl", 40),
    ("Lee", "Thompson", "", (1973, 5, 3), Sex.MALE, "darl", 5),
]
DISCHARGED = "Marshall"
# The dosing board flags these (issue 14, item 3).
CLINICAL_ALERTS = {"Bennett": "Allergic to latex and chlorhexidine", "Nicholson": "Epilepsy: seizure risk"}


def demo_nhs_numbers(count: int) -> list[str]:
    """Made-up numbers that pass the modulus 11 check, in a 999 range that no real patient has."""
    numbers, candidate = [], 999_000_000
    while len(numbers) < count:
        candidate += 7
        for check in range(10):
            number = f"{candidate}{check}"
            if nhs_number_is_valid(number):
                numbers.append(number)
                break
    return numbers


def seed(*, clinics, staff, stdout):
    now = timezone.now()
    keyworker, manager = staff["keyworker"], staff["manager"]
    created = 0
    for (given, family, preferred, born, sex, code, days), nhs_number in zip(
        PEOPLE, demo_nhs_numbers(len(PEOPLE)), strict=True
    ):
        if Patient.objects.filter(nhs_number=nhs_number).exists():
            continue
        clinic = clinics[code]
        worker = keyworker if clinic.staff.filter(pk=keyworker.pk).exists() else None
        recorder = worker or manager
        today = timezone.localdate(now, clinic.zone)
        started_on = today - timedelta(days=days)
        patient = services.patient_register(
            clinic=clinic,
            started_on=started_on,
            registered_by=recorder,
            now=now,
            nhs_number=nhs_number,
            given_name=given,
            family_name=family,
            preferred_name=preferred,
            date_of_birth=date(*born),
            sex=sex,
            contact_route=ContactRoute.PHONE if days % 2 else ContactRoute.VIA_KEYWORKER,
            contact_notes="Do not leave voicemail." if days % 2 else "",
            phone=f"07700 900{days:03d}" if days % 2 else "",
            gp_practice="Demo Medical Centre",
            clinical_alert=CLINICAL_ALERTS.get(family, ""),
            keyworker=worker,
            status=PatientStatus.MAINTENANCE if days > 14 else PatientStatus.INDUCTION,
        )
        given_at = now - timedelta(days=days)
        services.consent_record(
            patient=patient,
            kind=ConsentKind.TREATMENT,
            decision=ConsentDecision.GIVEN,
            recorded_by=recorder,
            effective_at=given_at,
        )
        partners = list(PartnerOrganisation.objects.filter(clinics=clinic, is_active=True).order_by("name"))
        for index, partner in enumerate(partners):
            if (days + index) % 3 == 0 or (index == 0 and days % 2 == 0):
                services.consent_record(
                    patient=patient,
                    kind=ConsentKind.DATA_SHARING,
                    partner=partner,
                    decision=ConsentDecision.GIVEN,
                    recorded_by=recorder,
                    effective_at=given_at,
                )
        services.outcome_interview_record(
            patient=patient,
            recorded_by=recorder,
            interviewed_on=started_on,
            now=now,
            **demo_top_answers(days),
        )
        if family == DISCHARGED:
            services.patient_discharge(
                patient=patient,
                reason=DischargeReason.TO_ORAL,
                ended_on=today - timedelta(days=20),
                notes="Stable; moved to oral methadone with the community service.",
                discharged_by=recorder,
                now=now,
            )
        created += 1
    stdout.write(f"Patients: {created} created, {len(PEOPLE) - created} already there.")


def demo_top_answers(seed_value: int) -> dict:
    spread = seed_value % 7
    return {
        "heroin_days": 20 + spread,
        "other_opiate_days": spread,
        "crack_days": 4 + spread,
        "cocaine_days": 0,
        "amphetamine_days": 0,
        "cannabis_days": 10 - spread,
        "alcohol_days": 6,
        "injected_days": 18 + spread,
        "shared_equipment": spread == 3,
        "shoplifting_days": 8 - spread,
        "selling_drugs_days": spread,
        "other_theft": spread > 4,
        "assault": False,
        "psychological_health": 6 + spread,
        "physical_health": 8,
        "quality_of_life": 5 + spread,
        "paid_work_days": 0,
        "education_days": 0,
        "acute_housing_problem": spread % 2 == 0,
        "at_risk_of_eviction": spread == 1,
    }
