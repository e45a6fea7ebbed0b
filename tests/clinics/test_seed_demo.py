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
from ops.ledgers import administration_problems, register_problems

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


def test_every_demo_dose_has_its_register_draw_and_every_balance_adds_up():
    with time_machine.travel(DURING_THE_MORNING_SESSION, tick=False):
        output = run_seed()
        doses, lines = Administration.objects.count(), RegisterEntry.objects.count()
        run_seed()

    assert (Administration.objects.count(), RegisterEntry.objects.count()) == (doses, lines)
    # Every dose of a controlled drug: today's session (administer_dose) and the two years of statistics
    # history (reports/demo_history.py, both clinics) alike.
    register_doses = list(Administration.objects.filter(drug__in=CdDrug.values).select_related("witness", "patient"))
    today = DURING_THE_MORNING_SESSION.date()
    assert sum(1 for dose in register_doses if dose.given_at.date() < today) > 1000, output
    assert any(dose.given_at.astimezone(DURING_THE_MORNING_SESSION.tzinfo).date() == today for dose in register_doses)
    registers = {register.pk: register for register in Register.objects.all()}
    drawn = {}
    for line in RegisterEntry.objects.filter(administration_ref__isnull=False):
        drawn.setdefault(line.administration_ref, []).append(line)
    for dose in register_doses:
        of_dose = drawn.get(dose.pk, [])
        ampoules_mg = sum(-line.quantity * registers[line.register_id].strength_mg for line in of_dose)
        wasted_mg = sum(line.waste_mg or 0 for line in of_dose if line.kind == EntryKind.WASTE)
        assert {line.kind for line in of_dose} <= {EntryKind.ADMINISTRATION, EntryKind.WASTE}
        assert all(registers[line.register_id].drug == dose.drug for line in of_dose), dose
        assert all(registers[line.register_id].clinic_id == dose.patient.clinic_id for line in of_dose), dose
        assert all(line.patient_id == dose.patient_id for line in of_dose), dose
        assert ampoules_mg - wasted_mg == dose.dose_mg, (dose, of_dose)
        assert dose.witness.username == "nurse2"
    for register in registers.values():
        entries = list(register.entries.order_by("sequence"))
        receipts = sum(entry.quantity for entry in entries if entry.kind == EntryKind.RECEIPT)
        draws = sum(-entry.quantity for entry in entries if entry.kind == EntryKind.ADMINISTRATION)
        assert [entry.sequence for entry in entries] == list(range(1, len(entries) + 1)), register
        assert register.balance == receipts - draws == entries[-1].balance_after, register
        assert all(entry.balance_after >= 0 for entry in entries), register
        assert [entry.occurred_at for entry in entries] == sorted(entry.occurred_at for entry in entries), register
    # The restore drill's checks of the same ledgers agree.
    assert register_problems() == []
    assert administration_problems() == []


def test_the_printed_witness_pin_confirms_the_demo_witness():
    output = run_seed()

    pin = re.search(r"Witness PIN of nurse2: (\d+)", output).group(1)
    assert witness_secret_is_correct(witness=User.objects.get(username="nurse2"), secret=pin)


def test_the_demo_ends_with_one_clear_block_and_prints_no_email_or_log(capfd):
    output = run_seed(url="http://127.0.0.1:8000/")

    block = output[output.index("=" * 78) :]
    nurse_password = re.search(r"^\s+nurse\s+(demo-\S+)", block, flags=re.MULTILINE).group(1)
    assert "Open http://127.0.0.1:8000/" in block
    assert f"Sign in as nurse with password {nurse_password}" in block
    assert "Witness PIN of nurse2:" in block  # beside the table, not lost above it
    assert "dosing board shows the current or next session" in block
    assert block.rstrip().endswith("=" * 78)
    printed = output + capfd.readouterr().err
    assert "Subject:" not in printed and "MIME-Version" not in printed  # no raw alert email
    assert " INFO " not in printed and "No hostname was supplied" not in printed
