"""Demo partner agencies (housing, employment, probation) working with the demo clinics, one API client each.

Idempotent: a partner is found by name, and a partner with an active client keeps it (its
secret is stored hashed, so it cannot be printed again); the output says how to make a new one.
"""

from .models import PartnerClient, PartnerKind, PartnerOrganisation, PartnerScope
from .services import partner_client_create

# name, kind, contact email, scopes of its API client
PARTNERS = [
    (
        "Tees Housing Support (demo)",
        PartnerKind.HOUSING,
        "housing@demo.invalid",
        [PartnerScope.READ, PartnerScope.WRITE],
    ),
    (
        "Routes to Work (demo)",
        PartnerKind.EMPLOYMENT,
        "work@demo.invalid",
        [PartnerScope.READ, PartnerScope.WRITE],
    ),
    (
        "Probation Service Tees Valley (demo)",
        PartnerKind.PROBATION,
        "probation@demo.invalid",
        [PartnerScope.READ, PartnerScope.WRITE, PartnerScope.SUBMIT],
    ),
]
DEMO_LABEL = "demo"


def seed(*, clinics, staff, stdout):
    created = 0
    for name, kind, email, scopes in PARTNERS:
        partner, was_created = PartnerOrganisation.objects.get_or_create(
            name=name, defaults={"kind": kind, "contact_email": email}
        )
        partner.clinics.add(*clinics.values())
        created += was_created
        # An API client belongs to one clinic (SPEC 6): the demo gives each partner one for each clinic.
        for clinic in clinics.values():
            existing = PartnerClient.objects.active().filter(partner=partner, clinic=clinic).first()
            if existing is not None:
                stdout.write(
                    f"  {name} ({clinic.code}): API client {existing.client_id} exists (its secret was shown when "
                    f"it was made). For a new one: python manage.py partner_client create --partner {partner.pk} "
                    f"--clinic {clinic.code} --scopes {' '.join(scopes)}"
                )
                continue
            client_id, secret = partner_client_create(partner=partner, clinic=clinic, scopes=scopes, label=DEMO_LABEL)
            stdout.write(
                f"  {name} ({clinic.code}): API client id {client_id}  secret {secret}  scopes {' '.join(scopes)}"
            )
    stdout.write(f"Partner agencies: {created} created, {len(PARTNERS) - created} already there.")
