"""Moving the onward-referral models from the referrals app to the onward app keeps every row."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from onward.models import OnwardReferral, OnwardReferralEvent
from tests.factories.referrals import make_onward_referral

BEFORE_THE_MOVE = [("referrals", "0003_referral_possible_duplicate_of"), ("onward", None)]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([target for target in targets if target[1]]).apps


def latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_rows_made_before_the_move_are_read_and_written_after_it(sharing_patient, housing, keyworker):
    made = make_onward_referral(patient=sharing_patient, partner=housing, created_by=keyworker)
    try:
        old = migrate(BEFORE_THE_MOVE)
        # The old state: the referrals app owns the model and reads the same row from the same table.
        old_referral = old.get_model("referrals", "OnwardReferral").objects.get(pk=made.pk)
        assert old_referral.reference == made.reference
        old.get_model("referrals", "OnwardReferralEvent").objects.create(
            referral=old_referral,
            kind="note",
            text="Written before the move.",
            by_user_id=keyworker.pk,
            at=made.created_at,
        )
    finally:
        migrate(latest())

    moved = OnwardReferral.objects.get(pk=made.pk)
    assert (moved.reference, moved.partner_id, moved.patient_id) == (made.reference, housing.pk, sharing_patient.pk)
    assert list(OnwardReferralEvent.objects.filter(referral=moved).values_list("kind", "text")) == [
        ("created", ""),
        ("note", "Written before the move."),
    ]
    assert ContentType.objects.get_for_model(OnwardReferral).app_label == "onward"
    assert not ContentType.objects.filter(app_label="referrals", model="onwardreferral").exists()
