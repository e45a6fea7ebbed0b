import pytest
from django.contrib.auth.models import Group

from clinics.roles import ROLE_CAPABILITIES, Capability, Role

pytestmark = pytest.mark.django_db


def test_the_data_migration_creates_exactly_the_five_roles_of_the_spec():
    names = set(Group.objects.values_list("name", flat=True))

    assert names == {"nurse", "prescriber", "keyworker", "clinic_manager", "commissioner"}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_is_granted_exactly_its_capabilities(role):
    granted = set(Group.objects.get(name=role.value).permissions.values_list("codename", flat=True))

    assert granted == {capability.value for capability in ROLE_CAPABILITIES[role]}


def test_a_nurse_may_dose_but_not_prescribe(nurse):
    assert nurse.has_perm(Capability.RECORD_DOSES.perm)
    assert not nurse.has_perm(Capability.PRESCRIBE.perm)


def test_a_keyworker_may_not_dose_or_sign_off_referrals(keyworker):
    assert keyworker.has_perm(Capability.HANDLE_REFERRALS.perm)
    assert not keyworker.has_perm(Capability.RECORD_DOSES.perm)
    assert not keyworker.has_perm(Capability.SIGN_OFF_REFERRALS.perm)


def test_a_commissioner_never_sees_patient_records(commissioner):
    assert commissioner.has_perm(Capability.VIEW_STATISTICS.perm)
    assert not commissioner.has_perm(Capability.VIEW_PATIENTS.perm)


def test_a_user_with_two_roles_gets_the_union(clinic):
    from tests.factories import StaffFactory

    both = StaffFactory(roles=["nurse", "keyworker"], clinics=[clinic])

    assert both.has_perm(Capability.RECORD_DOSES.perm)
    assert both.has_perm(Capability.HANDLE_REFERRALS.perm)
