"""The presented report is cached under a data version: it moves with every record the report is made from."""

import datetime

import pytest

from onward.models import OnwardReferral
from reports import services
from reports.cache import data_version
from tests.factories import PartnerFactory, PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def test_the_data_version_moves_with_each_source_of_the_report(clinic, keyworker):
    services.refresh_changed()
    versions = [data_version()]

    services.refresh_changed()  # dosing and TOP outcome figures: the summary tables
    versions.append(data_version())
    patient = PatientFactory(clinic=clinic)  # an episode
    versions.append(data_version())
    ReferralFactory(clinic=clinic, created_by=keyworker)
    versions.append(data_version())
    now = datetime.datetime.now(tz=datetime.UTC)
    OnwardReferral.objects.create(
        patient=patient,
        clinic=clinic,
        partner=PartnerFactory(clinics=[clinic]),
        need_kind="housing",
        need="A flat",
        contact_route="phone",
        created_by=keyworker,
        created_at=now,
        updated_at=now,
    )
    versions.append(data_version())

    assert len(set(versions)) == len(versions)
