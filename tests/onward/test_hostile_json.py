"""Issue 11, hole 14: JSON nested a thousand deep is a 400 problem, not a RecursionError 500.

The one JSON parser of the API (clinics.parsers.DepthLimitedJSONParser, DRF's default) refuses
bodies nested deeper than it allows, for staff and partners alike; ordinary bodies still parse.
"""

import base64

import pytest

from clinics.api_errors import PROBLEM_CONTENT_TYPE
from clinics.parsers import MAX_JSON_DEPTH
from onward.models import OnwardReferral, OnwardReferralEvent
from tests.factories.referrals import make_onward_referral

pytestmark = pytest.mark.django_db

JSON = "application/json"
DEEP_LIST = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


def nested(depth: int) -> str:
    return '{"text": ' + "[" * (depth - 1) + '"hi"' + "]" * (depth - 1) + "}"


def partner_token(client, api_client) -> str:
    basic = base64.b64encode(f"{api_client.client_id}:{api_client.secret}".encode()).decode()
    response = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def assert_depth_refused(response):
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert f"nested more than {MAX_JSON_DEPTH} levels deep" in response.json()["detail"]


@pytest.mark.parametrize("payload", [DEEP_LIST, DEEP_OBJECT])
def test_deep_json_on_a_partner_note_is_a_400_problem(
    client, sharing_patient, housing, keyworker, api_clients, payload
):
    referral = make_onward_referral(patient=sharing_patient, partner=housing, created_by=keyworker)
    token = partner_token(client, api_clients["housing"])
    events = OnwardReferralEvent.objects.count()

    response = client.post(
        f"/api/v1/partner/referrals/{referral.reference}/notes/",
        payload,
        content_type=JSON,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert_depth_refused(response)
    assert OnwardReferralEvent.objects.count() == events


@pytest.mark.parametrize("payload", [DEEP_LIST, DEEP_OBJECT, nested(MAX_JSON_DEPTH + 1)])
def test_deep_json_on_a_staff_onward_referral_is_a_400_problem(client_for, keyworker, sharing_patient, payload):
    response = client_for(keyworker).post("/api/v1/onward-referrals/", payload, content_type=JSON)

    assert_depth_refused(response)
    assert not OnwardReferral.objects.exists()


def test_json_at_the_depth_limit_still_parses(client_for, keyworker, sharing_patient):
    response = client_for(keyworker).post("/api/v1/onward-referrals/", nested(MAX_JSON_DEPTH), content_type=JSON)

    assert response.status_code == 400  # parsed: the serializer names what is wrong with it
    assert "nested" not in response.json()["detail"]
    assert "patient" in response.json()["errors"]
