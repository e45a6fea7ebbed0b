import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from clinics.models import Clinic, User
from clinics.roles import Role

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
