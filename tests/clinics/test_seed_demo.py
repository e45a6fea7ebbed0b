import datetime
import re
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from cd_register.models import CdDrug, EntryKind, Register, RegisterEntry
from clinics.models import Clinic, User
from clinics.roles import Role
from clinics.services import witness_secret_is_correct
from dosing.models import Administration

# Middlesbrough's morning session (08:00-10:30) is running: the demo board has doses to show.
DURING_THE_MORNING_SESSION = datetime.datetime(2026, 11, 18, 9, 30, tzinfo=ZoneInfo("Europe/London"))

pytestmark = pytest.mark.django_db


def run_seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", allow_production=True, stdout=out, **options)
    return out.getvalue()


def test_seed_demo_loads_two_clinics_and_one_user_per_role_with_printed_passwords():
    output = run_seed()

    assert set(Clinic.objects.values_list("code", flat=True)) == {"mbro", "darl"}
    for role in Role:
        assert User.objects.filter(groups__name=role.value).exists(), role
    printed = dict(re.findall(r"^\s+(\S+)\s+(demo-\S+)", output, flags=re.MULTILINE))
    nurse = User.objects.get(username="nurse")
    assert nurse.check_password(printed["nurse"])


def test_seed_demo_can_run_twice_without_duplicating_anything():
    run_seed()
    run_seed()

    assert Clinic.objects.count() == 2
    assert User.objects.filter(username="nurse").count() == 1


def test_seed_demo_refuses_to_run_when_debug_is_off():
    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("seed_demo", stdout=StringIO())


def test_the_demo_doses_are_in_the_controlled_drug_register_and_every_balance_adds_up():
    with time_machine.travel(DURING_THE_MORNING_SESSION, tick=False):
        output = run_seed()
        doses, lines = Administration.objects.count(), RegisterEntry.objects.count()
        run_seed()

    assert (Administration.objects.count(), RegisterEntry.objects.count()) == (doses, lines)
    register_doses = Administration.objects.filter(drug__in=CdDrug.values).select_related("witness")
    assert len(register_doses) >= 2, output
    for dose in register_doses:
        drawn = RegisterEntry.objects.filter(administration_ref=dose.pk).select_related("register")
        ampoules_mg = sum(-line.quantity * line.register.strength_mg for line in drawn)
        wasted_mg = sum(line.waste_mg or 0 for line in drawn if line.kind == EntryKind.WASTE)
        assert {line.kind for line in drawn} <= {EntryKind.ADMINISTRATION, EntryKind.WASTE}
        assert all(line.register.drug == dose.drug and line.patient_id == dose.patient_id for line in drawn)
        assert ampoules_mg - wasted_mg == dose.dose_mg, (dose, list(drawn))
        assert dose.witness.username == "nurse2"
    for register in Register.objects.all():
        entries = list(register.entries.order_by("sequence"))
        receipts = sum(entry.quantity for entry in entries if entry.kind == EntryKind.RECEIPT)
        draws = sum(-entry.quantity for entry in entries if entry.kind == EntryKind.ADMINISTRATION)
        assert register.balance == receipts - draws == entries[-1].balance_after, register
        assert [entry.occurred_at for entry in entries] == sorted(entry.occurred_at for entry in entries), register


def test_the_printed_witness_pin_confirms_the_demo_witness():
    output = run_seed()

    pin = re.search(r"nurse2 witnesses doses with PIN (\d+)", output).group(1)
    assert witness_secret_is_correct(witness=User.objects.get(username="nurse2"), secret=pin)
