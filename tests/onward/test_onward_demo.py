"""seed_demo for partners (one API client each, secrets printed once) and onward referrals (several states)."""

import re
from io import StringIO

import pytest
import requests

from onward import demo as onward_demo
from onward.models import OnwardReferral
from partners import demo as partners_demo
from partners.models import PartnerClient
from patients import demo as patients_demo
from referrals import demo as referrals_demo

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_partners_get_one_working_client_per_clinic_and_onward_referrals_in_several_states(
    live_server, clinic, other_clinic, keyworker, prescriber, manager
):
    clinics = {"mbro": clinic, "darl": other_clinic}
    staff = {"keyworker": keyworker, "prescriber": prescriber, "manager": manager}

    def seed() -> str:
        out = StringIO()
        for app in (partners_demo, patients_demo, referrals_demo, onward_demo):
            app.seed(clinics=clinics, staff=staff, stdout=out)
        return out.getvalue()

    first = seed()
    second = seed()

    # A client belongs to one clinic (issue 11): each of the 3 partners gets one for each of the 2 clinics.
    assert PartnerClient.objects.count() == 6
    assert set(PartnerClient.objects.values_list("partner__name", "clinic__code")) == {
        (name, code) for name, *_ in partners_demo.PARTNERS for code in clinics
    }
    assert first.count("  secret ") == 6 and first.count("shown this once") == 1  # one short table, said once
    assert "  secret " not in second and second.count("manage.py partner_client create --partner") == 1
    assert "6 kept from an earlier run" in second
    states = set(OnwardReferral.objects.values_list("status", flat=True))
    assert {"sent", "acknowledged", "appointment_booked", "closed"} <= states
    assert OnwardReferral.objects.count() == len(onward_demo.ONWARD)

    # The printed credentials work: the housing partner sees its referrals through the API.
    client_id, secret = re.search(r"Tees Housing Support +mbro +id (\S+) +secret (\S+) ", first).groups()
    token = requests.post(
        f"{live_server.url}/o/token/", data={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=10
    ).json()["access_token"]
    listed = requests.get(
        f"{live_server.url}/api/v1/partner/referrals/", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert listed.status_code == 200
    assert listed.json()["results"], "the housing partner has demo referrals to see"
