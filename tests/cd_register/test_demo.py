import io

import pytest

from cd_register import demo
from cd_register.models import Register, RegisterEntry
from clinics.management.commands.seed_demo import CLINICS, STAFF
from clinics.services import clinic_upsert, staff_upsert

pytestmark = pytest.mark.django_db


def test_demo_registers_have_stock_and_seeding_twice_changes_nothing():
    clinics = {code: clinic_upsert(code=code, name=name, address=a, phone=p) for code, name, a, p in CLINICS}
    staff = {
        username: staff_upsert(
            username=username,
            first_name=first,
            last_name=last,
            email=f"{username}@demo.invalid",
            roles=roles,
            clinics=[clinics[c] for c in codes],
            password="demo-password-123",
        )
        for username, first, last, roles, codes in STAFF
    }
    for _ in range(2):
        demo.seed(clinics=clinics, staff=staff, stdout=io.StringIO())
    registers = Register.objects.filter(clinic=clinics["mbro"])
    assert sorted((r.drug, int(r.strength_mg)) for r in registers) == [
        ("diamorphine_inj", 10),
        ("diamorphine_inj", 30),
        ("diamorphine_inj", 100),
        ("diamorphine_inj", 500),
        ("hydromorphone_inj", 10),
        ("hydromorphone_inj", 50),
    ]
    assert all(r.balance > 0 and r.last_sequence == 1 for r in registers)
    assert RegisterEntry.objects.count() == 6
