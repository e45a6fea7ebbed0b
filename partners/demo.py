"""Demo partner agencies: housing, employment and probation, working with both demo clinics. Idempotent."""

from .models import PartnerKind, PartnerOrganisation

PARTNERS = [
    ("Tees Housing Support (demo)", PartnerKind.HOUSING, "housing@demo.invalid"),
    ("Routes to Work (demo)", PartnerKind.EMPLOYMENT, "work@demo.invalid"),
    ("Probation Service Tees Valley (demo)", PartnerKind.PROBATION, "probation@demo.invalid"),
]


def seed(*, clinics, staff, stdout):
    created = 0
    for name, kind, email in PARTNERS:
        partner, was_created = PartnerOrganisation.objects.get_or_create(
            name=name, defaults={"kind": kind, "contact_email": email}
        )
        partner.clinics.add(*clinics.values())
        created += was_created
    stdout.write(f"Partner agencies: {created} created, {len(PARTNERS) - created} already there.")
