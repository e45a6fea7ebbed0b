"""Shared fixtures: clinics, personas (one per role plus a nurse of another clinic), clients."""

import os
from importlib import import_module

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from tests.factories import ClinicFactory, StaffFactory
from tests.parallel import clone_template_for_this_worker

pytest_plugins = ["tests.browser", "tests.celery_worker", "tests.redis_server"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    """Under pytest-xdist: this worker's test database (name suffixed _gwN) is a fresh copy of the template
    the controller migrated (tests/parallel.py)."""
    return clone_template_for_this_worker()


@pytest.fixture(scope="session")
def django_db_keepdb(request, django_db_modify_db_settings):
    """A cloned worker database is already migrated: pytest-django uses it as it is and leaves it (the next
    run clones it again). Otherwise pytest-django's own --reuse-db decides."""
    return django_db_modify_db_settings or request.config.getvalue("reuse_db")


@pytest.fixture(scope="session")
def django_db_createdb(request, django_db_modify_db_settings):
    return not django_db_modify_db_settings and request.config.getvalue("create_db")


@pytest.fixture(autouse=True, scope="session")
def _require_postgresql(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.exit("The tests run on PostgreSQL: set DATABASE_URL or use `make test`.", returncode=2)
    _require_a_worker_of_its_own()
    # The test database restarts its ids every run: forget counters (e.g. witness lockouts) of earlier runs.
    cache.clear()


@pytest.fixture(autouse=True)
def _role_groups_after_flush(request):
    """Transactional tests flush every table, data migrations' rows included: put the roles back."""
    marker = request.node.get_closest_marker("django_db")
    if (marker and marker.kwargs.get("transaction")) or "transactional_db" in request.fixturenames:
        request.getfixturevalue("transactional_db")
        import_module("clinics.migrations.0002_roles").create_roles(apps, None)
        import_module("clinics.migrations.0006_view_board_and_referrals").grant(apps, None)


@pytest.fixture
def clinic(db):
    return ClinicFactory(name="Middlesbrough HAT Clinic", code="mbro")


@pytest.fixture
def other_clinic(db):
    return ClinicFactory(name="Darlington HAT Clinic", code="darl")


@pytest.fixture
def nurse(clinic):
    return StaffFactory(username="nia.nurse", first_name="Nia", roles=["nurse"], clinics=[clinic])


@pytest.fixture
def second_nurse(clinic):
    return StaffFactory(username="tom.nurse", first_name="Tom", roles=["nurse"], clinics=[clinic])


@pytest.fixture
def prescriber(clinic):
    return StaffFactory(username="priya.prescriber", first_name="Priya", roles=["prescriber"], clinics=[clinic])


@pytest.fixture
def keyworker(clinic):
    return StaffFactory(username="kev.keyworker", first_name="Kev", roles=["keyworker"], clinics=[clinic])


@pytest.fixture
def manager(clinic):
    return StaffFactory(username="maggie.manager", first_name="Maggie", roles=["clinic_manager"], clinics=[clinic])


@pytest.fixture
def commissioner(clinic, other_clinic):
    return StaffFactory(
        username="colin.commissioner", first_name="Colin", roles=["commissioner"], clinics=[clinic, other_clinic]
    )


@pytest.fixture
def other_nurse(other_clinic):
    """The outsider: a nurse of another clinic, for every permission test."""
    return StaffFactory(username="dana.nurse", first_name="Dana", roles=["nurse"], clinics=[other_clinic])


@pytest.fixture
def client_for(client):
    """client_for(user): the test client signed in as that user."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


def _require_a_worker_of_its_own():
    """Under pytest-xdist, this worker's database and Celery queue are its own (tests/parallel.py sets the
    queue and the Redis database together, before the settings are read)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    shared = []
    if not settings.DATABASES["default"]["NAME"].endswith(f"_{worker}"):
        shared.append(f"database {settings.DATABASES['default']['NAME']}")
    if not settings.CELERY_TASK_DEFAULT_QUEUE.endswith(f"_{worker}"):
        shared.append(f"Celery queue {settings.CELERY_TASK_DEFAULT_QUEUE}")
    if shared:
        shared_text = ", ".join(shared)
        pytest.exit(f"xdist worker {worker} shares its {shared_text}: is `-p tests.parallel` loaded?", returncode=2)
