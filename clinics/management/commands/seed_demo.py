"""A demo service: two clinics and one member of staff per role, passwords printed.

Safe to run again: it updates what is there and sets fresh passwords. Each installed app
may add its own demo data in a `demo.py` module with `seed(*, clinics, staff, stdout)`;
they run in INSTALLED_APPS order, so clinics never imports the apps that build on it. A module's
`seed_history(*, clinics, staff, stdout)` (past records) runs before every `seed`.
"""

import logging
import secrets
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from clinics.roles import Role
from clinics.services import clinic_upsert, remember_clinic, staff_upsert

CLINICS = [
    ("mbro", "Middlesbrough HAT Clinic", "12 Marton Road\nMiddlesbrough TS1 2AA", "01642 000000"),
    ("darl", "Darlington HAT Clinic", "3 Northgate\nDarlington DL1 1AA", "01325 000000"),
]

# username, first name, last name, roles, clinic codes
STAFF = [
    ("nurse", "Nia", "Okafor", [Role.NURSE], ["mbro"]),
    ("nurse2", "Tom", "Hughes", [Role.NURSE], ["mbro"]),
    ("prescriber", "Priya", "Shah", [Role.PRESCRIBER], ["mbro", "darl"]),
    ("keyworker", "Kev", "Walsh", [Role.KEYWORKER], ["mbro"]),
    ("manager", "Maggie", "Reid", [Role.CLINIC_MANAGER], ["mbro", "darl"]),
    ("commissioner", "Colin", "Barker", [Role.COMMISSIONER], ["mbro", "darl"]),
    ("nurse.darlington", "Dana", "Price", [Role.NURSE], ["darl"]),
]


def demo_password() -> str:
    return "demo-" + secrets.token_urlsafe(9)


class Command(BaseCommand):
    help = "Load a demo service (two clinics, one user per role) and print the passwords."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even though DEBUG is off (never on a live service: it creates known accounts).",
        )
        parser.add_argument("--password", help="Use this password for every demo user instead of random ones.")
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="The address printed to open.")

    def handle(self, *args, allow_production=False, password=None, url="", **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError("seed_demo creates accounts with printed passwords; it runs only with DEBUG on.")
        # The demo's own alert emails and INFO logs would bury the passwords: keep them out of the terminal.
        logging.disable(logging.INFO)
        try:
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                rows, notes = self._seed(password)
        finally:
            logging.disable(logging.NOTSET)
        self._print_sign_in(url, rows, notes)

    def _seed(self, password):
        clinics = {
            code: clinic_upsert(code=code, name=name, address=address, phone=phone)
            for code, name, address, phone in CLINICS
        }
        rows, staff = [], {}
        for username, first, last, roles, codes in STAFF:
            secret = password or demo_password()
            staff[username] = staff_upsert(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@demo.invalid",
                roles=roles,
                clinics=[clinics[code] for code in codes],
                password=secret,
            )
            if staff[username].last_clinic_id is None:
                # Multi-clinic staff land on the clinic they last worked in; the demo's first is where its patients are.
                remember_clinic(user=staff[username], clinic=clinics[codes[0]])
            rows.append((username, secret, ", ".join(role.label for role in roles), ", ".join(codes)))

        modules = [
            import_module(f"{app_config.name}.demo")
            for app_config in apps.get_app_configs()
            if app_config.name != "clinics" and find_spec(f"{app_config.name}.demo") is not None
        ]
        # The past first (an app's `seed_history`, e.g. two years of doses with their register lines), then
        # today's records: a controlled-drug register's entries must run in time order.
        for module in modules:
            if hasattr(module, "seed_history"):
                module.seed_history(clinics=clinics, staff=staff, stdout=self.stdout)
        notes = []
        for module in modules:
            # An app's seed may return lines for the closing block (e.g. the witness PIN).
            notes += module.seed(clinics=clinics, staff=staff, stdout=self.stdout) or []
        return rows, notes

    def _print_sign_in(self, url, rows, notes):
        rule = "=" * 78
        nurse_password = next(secret for username, secret, _, _ in rows if username == "nurse")
        self.stdout.write(rule)
        self.stdout.write(self.style.SUCCESS(f"The demo clinic is ready. Open {url}"))
        self.stdout.write(f"Sign in as nurse with password {nurse_password} (passwords are new on every run):")
        self.stdout.write(f"  {'username':<18} {'password':<20} {'role':<16} clinics")
        for username, secret, roles, codes in rows:
            self.stdout.write(f"  {username:<18} {secret:<20} {roles:<16} {codes}")
        for note in notes:
            self.stdout.write(note)
        self.stdout.write(rule)
