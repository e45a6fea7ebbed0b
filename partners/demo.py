"""Demo partner agencies (housing, employment, probation) working with the demo clinics, one API client each.

Idempotent: a partner is found by name, and a partner with an active client keeps it (its
secret is stored hashed, so it cannot be printed again). Issue 14, item 10: the secrets are printed
once, when made, in one short table; a re-run prints one line saying how to make a new client.
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
    """Seed the partners; print each new client's credentials once, in one short table (none on a re-run)."""
    created = 0
    made, kept = [], 0
    for name, kind, email, scopes in PARTNERS:
        partner, was_created = PartnerOrganisation.objects.get_or_create(
            name=name, defaults={"kind": kind, "contact_email": email}
        )
        partner.clinics.add(*clinics.values())
        created += was_created
        # An API client belongs to one clinic (SPEC 6): the demo gives each partner one for each clinic.
        for clinic in clinics.values():
            if PartnerClient.objects.active().filter(partner=partner, clinic=clinic).exists():
                kept += 1
                continue
            client_id, secret = partner_client_create(partner=partner, clinic=clinic, scopes=scopes, label=DEMO_LABEL)
            made.append((_short(name), clinic.code, client_id, secret))
    stdout.write(f"Partner agencies: {created} created, {len(PARTNERS) - created} already there.")
    if made:
        stdout.write(
            "Partner API clients made now: the secret is shown this once (it is stored hashed). "
            "Get a token with: curl -u ID:SECRET -d grant_type=client_credentials <address>/o/token/"
        )
        width = max(len(short) for short, *_ in made)
        for short, code, client_id, secret in made:
            stdout.write(f"  {short:<{width}}  {code}  id {client_id}  secret {secret}")
    if kept:
        stdout.write(
            f"Partner API clients: {kept} kept from an earlier run (secrets are not shown again); "
            "a new one: python manage.py partner_client create --partner ID --clinic CODE --scopes ..."
        )


def _short(name: str) -> str:
    """'Tees Housing Support (demo)' -> 'Tees Housing Support'."""
    return name.removesuffix(f" ({DEMO_LABEL})")
