"""A demo service: two clinics and one member of staff per role, passwords printed.

Safe to run again: it updates what is there and sets fresh passwords. Each installed app
may add its own demo data in a `demo.py` module with `seed(*, clinics, staff, stdout)`;
they run in INSTALLED_APPS order, so clinics never imports the apps that build on it.
"""

import secrets
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from clinics.roles import Role
from clinics.services import clinic_upsert, staff_upsert

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

    def handle(self, *args, allow_production=False, password=None, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError("seed_demo creates accounts with printed passwords; it runs only with DEBUG on.")
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
            rows.append((username, secret, ", ".join(role.label for role in roles), ", ".join(codes)))

        for app_config in apps.get_app_configs():
            module_name = f"{app_config.name}.demo"
            if app_config.name != "clinics" and find_spec(module_name) is not None:
                import_module(module_name).seed(clinics=clinics, staff=staff, stdout=self.stdout)

        self.stdout.write(self.style.SUCCESS("Demo service loaded. Sign in with:"))
        self.stdout.write(f"  {'username':<18} {'password':<20} {'role':<16} clinics")
        for username, secret, roles, codes in rows:
            self.stdout.write(f"  {username:<18} {secret:<20} {roles:<16} {codes}")
