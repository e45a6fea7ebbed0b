"""SPEC 2: the clinic manager sees everything in their clinic: the dosing board (read-only unless they
also hold the nurse role) and the referral lists, through the pages and the API; never another clinic's.
"""

import pytest
import time_machine
from django.urls import reverse

from dosing.models import SlotStatus
from tests.factories import StaffFactory
from tests.factories.referrals import ReferralFactory

from .conftest import MORNING
from .test_api import post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False):
        yield


@pytest.fixture
def manager_nurse(clinic):
    return StaffFactory(username="mo.manager", roles=["clinic_manager", "nurse"], clinics=[clinic])


def test_page_the_manager_sees_the_board_read_only(client_for, manager, slot):
    client = client_for(manager)
    page = client.get(reverse("dosing-board"))
    assert page.status_code == 200
    assert "Sam Taylor" in page.text
    assert reverse("dosing-arrive", args=[slot.pk]) not in page.text  # no action for a manager who is not a nurse
    assert client.get(reverse("dosing-board-rows")).status_code == 200
    assert client.post(reverse("dosing-arrive", args=[slot.pk])).status_code == 403
    slot.refresh_from_db()
    assert slot.status == SlotStatus.SCHEDULED


def test_page_a_manager_who_is_also_a_nurse_runs_the_board(client_for, manager_nurse, slot):
    page = client_for(manager_nurse).get(reverse("dosing-board"))
    assert reverse("dosing-arrive", args=[slot.pk]) in page.text


def test_page_the_board_is_in_the_managers_navigation(client_for, manager):
    assert 'href="/dosing/board/"' in client_for(manager).get("/").text


def test_api_the_manager_reads_the_board_but_cannot_act(client_for, manager, slot, other_clinic):
    client = client_for(manager)
    board = client.get("/api/v1/dosing/board/")
    assert board.status_code == 200, board.content
    assert [row["patient"]["name"] for row in board.json()["rows"]] == ["Sam Taylor"]
    assert client.get(f"/api/v1/dosing/board/?clinic={other_clinic.pk}").status_code == 404
    assert post(client, f"/api/v1/dosing/slots/{slot.pk}/arrival/", {}).status_code == 403


def test_page_the_manager_sees_the_referral_lists_of_their_clinic(client_for, manager, clinic, other_clinic, patient,
                                                                   keyworker):  # fmt: skip
    ours = ReferralFactory(clinic=clinic, given_name="Alex", family_name="Ours")
    ReferralFactory(clinic=other_clinic, given_name="Bea", family_name="Theirs")
    client = client_for(manager)
    inbox = client.get(reverse("referral-list"))
    assert inbox.status_code == 200
    assert "Ours" in inbox.text and "Theirs" not in inbox.text
    assert client.get(reverse("referral-detail", args=[ours.pk])).status_code == 200
    assert client.get(reverse("onward-referral-list")).status_code == 200


def test_api_the_manager_sees_the_referral_lists_of_their_clinic(client_for, manager, clinic, other_clinic):
    ReferralFactory(clinic=clinic, given_name="Alex", family_name="Ours")
    ReferralFactory(clinic=other_clinic, given_name="Bea", family_name="Theirs")
    client = client_for(manager)
    listed = client.get("/api/v1/referrals/")
    assert listed.status_code == 200, listed.content
    body = listed.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [row["family_name"] for row in rows] == ["Ours"]
    assert client.get("/api/v1/onward-referrals/").status_code == 200
    assert post(client, "/api/v1/referrals/", {"given_name": "X"}).status_code == 403


def test_the_manager_still_cannot_take_referral_actions(client_for, manager, clinic):
    referral = ReferralFactory(clinic=clinic)
    response = client_for(manager).post(
        reverse("referral-action", args=[referral.pk, "withdraw"]), {"withdraw-reason": "x"}
    )
    assert response.status_code == 403
