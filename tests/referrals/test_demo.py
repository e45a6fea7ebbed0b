from io import StringIO

import pytest

from referrals import demo
from referrals.models import Referral, ReferralStatus

pytestmark = pytest.mark.django_db


def test_demo_referrals_cover_every_state_and_are_seeded_once(clinic, other_clinic, keyworker, prescriber):
    def seed():
        demo.seed(
            clinics={"mbro": clinic, "darl": other_clinic},
            staff={"keyworker": keyworker, "prescriber": prescriber},
            stdout=StringIO(),
        )

    seed()
    seed()

    assert set(Referral.objects.filter(clinic=clinic).values_list("status", flat=True)) == set(ReferralStatus.values)
    assert Referral.objects.count() == len(demo.PEOPLE)
    accepted = Referral.objects.get(status=ReferralStatus.ACCEPTED)
    assert accepted.patient.episodes.filter(ended_on__isnull=True).exists()
