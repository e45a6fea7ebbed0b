"""Create or revoke a partner's API client from the command line.

python manage.py partner_client create --partner 3 --clinic mbro --scopes referrals:read referrals:write
python manage.py partner_client revoke <client id>
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinics.models import Clinic
from partners.models import PartnerOrganisation, PartnerScope
from partners.services import partner_client_create, partner_client_revoke


def _problem(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return " ".join(error.messages)


class Command(BaseCommand):
    help = "Create (prints the client id and the secret, once) or revoke a partner's OAuth2 API client."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,revoke}")
        create = actions.add_parser("create", help="Create a client for a partner organisation.")
        create.add_argument("--partner", type=int, required=True, help="The partner organisation's id.")
        create.add_argument(
            "--clinic",
            required=True,
            help="The code of the clinic the client is for (e.g. mbro): it reads only that clinic's referrals.",
        )
        create.add_argument(
            "--scopes", nargs="+", required=True, choices=PartnerScope.values, help="One or more scopes."
        )
        create.add_argument("--label", default="", help="Which of the partner's systems uses it.")
        revoke = actions.add_parser("revoke", help="Revoke a client: its tokens stop working at once.")
        revoke.add_argument("client_id", help="The client id to revoke.")

    def handle(self, *args, action, **options):
        try:
            if action == "create":
                self._create(options)
            else:
                self._revoke(options)
        except ValidationError as error:
            raise CommandError(_problem(error)) from None

    def _create(self, options):
        try:
            partner = PartnerOrganisation.objects.get(pk=options["partner"])
        except PartnerOrganisation.DoesNotExist:
            raise CommandError(f"There is no partner organisation with id {options['partner']}.") from None
        try:
            clinic = Clinic.objects.get(code=options["clinic"])
        except Clinic.DoesNotExist:
            raise CommandError(f"There is no clinic with the code {options['clinic']!r}.") from None
        client_id, secret = partner_client_create(
            partner=partner, clinic=clinic, scopes=options["scopes"], label=options["label"]
        )
        self.stdout.write(f"client_id: {client_id}")
        self.stdout.write(f"client_secret: {secret}")
        self.stderr.write("The secret is shown only now; it is stored hashed. Keep it somewhere safe.")

    def _revoke(self, options):
        client = partner_client_revoke(client_id=options["client_id"])
        self.stdout.write(f"Revoked {client.client_id} at {client.revoked_at.isoformat()}.")
