"""The signed-in user's one statement (clinics/backends.py) reads what Django itself would read, and only theirs.

The statement is compiled once per process; these tests show that what it reads is still each request's
own: the user's permissions, roles and clinics, never another user's, and nothing kept from one request
to the next.
"""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from clinics.backends import StaffBackend
from clinics.selectors import clinics_for
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_the_statement_reads_the_permissions_roles_and_clinics_django_would_read_and_no_one_elses(
    django_user_model, clinic, other_clinic, nurse, prescriber, manager
):
    nurse.user_permissions.add(Permission.objects.get(codename="view_clinic"))  # granted directly, not by a role
    prescriber.user_permissions.add(Permission.objects.get(codename="change_clinic"))  # someone else's grant
    nurse.clinics.add(other_clinic)

    loaded = StaffBackend().get_user(nurse.pk)

    fresh = django_user_model.objects.get(pk=nurse.pk)
    assert loaded._perm_cache == ModelBackend().get_all_permissions(fresh)
    assert "clinics.view_clinic" in loaded._perm_cache and "clinics.change_clinic" not in loaded._perm_cache
    assert {role.value for role in loaded._hat_roles} == {"nurse"}
    assert loaded._hat_clinics == list(clinics_for(fresh)) == [other_clinic, clinic]  # both, in name order


def test_each_read_is_fresh_although_the_statement_is_compiled_once(nurse, prescriber, clinic):
    backend = StaffBackend()
    assert backend.get_user(prescriber.pk).pk == prescriber.pk  # the statement is compiled by now
    grant = Permission.objects.get(codename="view_clinic")

    nurse.user_permissions.add(grant)
    assert "clinics.view_clinic" in backend.get_user(nurse.pk)._perm_cache
    nurse.user_permissions.remove(grant)
    assert "clinics.view_clinic" not in backend.get_user(nurse.pk)._perm_cache
    assert backend.get_user(prescriber.pk).username == prescriber.username


def test_an_unknown_or_inactive_user_is_no_user(nurse):
    backend = StaffBackend()
    assert backend.get_user(nurse.pk + 1000) is None

    nurse.is_active = False
    nurse.save()
    assert backend.get_user(nurse.pk) is None


def test_a_system_administrators_access_comes_the_usual_way(clinic, other_clinic):
    admin = StaffFactory(username="ada.admin", is_staff=True, is_superuser=True, clinics=[clinic])

    loaded = StaffBackend().get_user(admin.pk)

    assert loaded.is_superuser and not hasattr(loaded, "_hat_clinics")
    assert list(clinics_for(loaded)) == [other_clinic, clinic]  # every active clinic
