"""board.js sends the ETag of its copy: an unchanged board is answered 304 and left as it is; a change is shown."""

import pytest
import time_machine
from playwright.sync_api import expect

from dosing import services
from dosing.models import Session
from tests.factories import PatientFactory, PrescriptionFactory, SlotFactory, TreatmentConsentFactory

from .conftest import TODAY, at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_board_polls_with_its_etag_and_shows_a_change_after_304s(
    live_server, page, sign_in, clinic, nurse, prescriber, keyworker
):
    with time_machine.travel(at(TODAY, 9, 0), tick=True):
        patient = PatientFactory(clinic=clinic, given_name="Sam", family_name="Taylor")
        TreatmentConsentFactory(patient=patient, recorded_by=keyworker)
        slot = SlotFactory(prescription=PrescriptionFactory(patient=patient, prescriber=prescriber), date=TODAY,
                           session=Session.MORNING)  # fmt: skip
        polls = []
        page.on(
            "response",
            lambda response: (
                "/dosing/board/rows/" in response.url
                and polls.append((response.status, response.request.headers.get("if-none-match")))
            ),
        )
        sign_in(page, nurse)
        page.goto("/dosing/board/")
        sent = page.locator("#board-live").get_attribute("data-etag")
        page.wait_for_timeout(6500)  # two polls at least

        assert len(polls) >= 2 and all(poll == (304, sent) for poll in polls), polls
        expect(page.locator("#board-updated")).not_to_contain_text("Not updating")  # a 304 is not a failure

        services.slot_mark_arrived(slot=slot, nurse=nurse)
        expect(page.locator(f"#slot-{slot.pk}")).to_contain_text("Arrived", timeout=8000)
        assert any(status == 200 for status, _ in polls)
        changed = len(polls)
        page.wait_for_timeout(3500)
        assert polls[changed:] and all(status == 304 for status, _ in polls[changed:]), polls
        assert polls[-1][1] != sent  # the new copy's ETag
