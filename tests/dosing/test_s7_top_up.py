"""S7 and the oral top-up beside the injectable: each counts its own doses.

S7 is about tolerance to the injectable. An oral top-up (oral methadone 60 mg, or slow-release
morphine) is a fraction of the opioid a day of injectable diamorphine gives, so a day on which only
the top-up was given is a day without the injectable: three of them hold the patient like three
days with nothing. The top-up has its own check: three days on which its once-a-day slot went
unused refuse the top-up (only the top-up: the injectable the patient did take keeps their
tolerance) until the prescriber reviews it by writing the top-up again. The jobs are not run here:
both are decided from the facts at dose time.
"""

import datetime
from decimal import Decimal

import pytest
import time_machine

from dosing import services
from dosing.models import Drug, Hold, Prescription, Route, Session, Slot
from tests.factories import PrescriptionFactory, SlotFactory

from .conftest import LONDON, MORNING, TODAY, at, check, check_and_dose, dose
from .test_api import good_check, good_dose, post, refusal
from .test_pages import good_check as page_check
from .test_pages import refused

pytestmark = pytest.mark.django_db

INJECTABLE_SENTENCE = "S7 · No dose: 3 consecutive days missed since 15 Nov; prescriber review required"
TOP_UP_SENTENCE = (
    "S7 · No top-up: 3 consecutive days without the oral methadone top-up since 15 Nov; prescriber review required"
)


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def methadone(patient, prescriber):
    return PrescriptionFactory(
        patient=patient, prescriber=prescriber, drug=Drug.METHADONE_ORAL, route=Route.ORAL,
        morning_dose_mg=Decimal("60"), afternoon_dose_mg=None, daily_max_mg=Decimal("60"),
        starts_on=datetime.date(2026, 11, 1), signed_at=datetime.datetime(2026, 11, 1, 7, 0, tzinfo=LONDON),
    )  # fmt: skip


@pytest.fixture
def top_up_today(methadone):
    return SlotFactory(prescription=methadone, date=TODAY, session=Session.MORNING, top_up=True)


def give_top_up(slot, nurse, witness, now):
    check(slot, nurse, now=now)
    return dose(slot, nurse, witness, now=now + datetime.timedelta(minutes=2), dose_mg=Decimal("60"),
                route=Route.ORAL, injection_site="")  # fmt: skip


def only_the_top_up_given(prescription, methadone, nurse, witness, days: int = 3) -> None:
    """The patient came for the methadone each morning and never for the injectable (no job closed its slots)."""
    for offset in range(days, 0, -1):
        day = TODAY - datetime.timedelta(days=offset)
        for session in (Session.MORNING, Session.AFTERNOON):
            SlotFactory(prescription=prescription, date=day, session=session)
        top_up = SlotFactory(prescription=methadone, date=day, session=Session.MORNING, top_up=True)
        give_top_up(top_up, nurse, witness, at(day, 9, 0))


def only_the_injectable_given(prescription, methadone, nurse, witness, days: int = 3) -> None:
    """The patient took the injectable each morning and never the methadone (no job closed its slots)."""
    for offset in range(days, 0, -1):
        day = TODAY - datetime.timedelta(days=offset)
        SlotFactory(prescription=methadone, date=day, session=Session.MORNING, top_up=True)
        check_and_dose(SlotFactory(prescription=prescription, date=day, session=Session.MORNING), nurse, witness,
                       now=at(day, 9, 0))  # fmt: skip


def test_s7_days_of_the_top_up_alone_hold_the_injectable_through_the_api(
    client_for, prescription, methadone, slot, nurse, second_nurse
):
    only_the_top_up_given(prescription, methadone, nurse, second_nurse)
    client = client_for(nurse)

    assert refusal(post(client, f"/api/v1/dosing/slots/{slot.pk}/checks/", good_check()), "S7") == INJECTABLE_SENTENCE
    assert refusal(post(client, f"/api/v1/dosing/slots/{slot.pk}/administration/", good_dose(second_nurse)), "S7")
    assert Hold.objects.get(patient=slot.patient, cleared_at__isnull=True).missed_days == 3


def test_s7_days_of_the_top_up_alone_hold_the_injectable_through_the_page(
    client_for, prescription, methadone, slot, nurse, second_nurse
):
    only_the_top_up_given(prescription, methadone, nurse, second_nurse)
    client = client_for(nurse)

    words = INJECTABLE_SENTENCE.removeprefix("S7 · ")
    assert words in refused(client.post(f"/dosing/slots/{slot.pk}/check/", page_check()), "S7")
    assert words in refused(client.post(f"/dosing/slots/{slot.pk}/dose/", good_dose(second_nurse)), "S7")


def test_s7_two_days_of_the_top_up_alone_do_not_hold(prescription, methadone, slot, nurse, second_nurse):
    only_the_top_up_given(prescription, methadone, nurse, second_nurse, days=2)

    assert check_and_dose(slot, nurse, second_nurse).dose_mg == 100
    assert not Hold.objects.exists()


def test_s7_three_days_without_the_top_up_refuse_the_top_up_only_through_the_api(
    client_for, prescription, methadone, slot, top_up_today, nurse, second_nurse, prescriber
):
    only_the_injectable_given(prescription, methadone, nurse, second_nurse)
    client = client_for(nurse)

    refused_top_up = post(client, f"/api/v1/dosing/slots/{top_up_today.pk}/checks/", good_check())
    assert refusal(refused_top_up, "S7") == TOP_UP_SENTENCE
    # The injectable kept their tolerance: it is given, and no hold stops the patient's treatment.
    assert post(client, f"/api/v1/dosing/slots/{slot.pk}/checks/", good_check()).status_code == 201
    assert post(client, f"/api/v1/dosing/slots/{slot.pk}/administration/", good_dose(second_nurse)).status_code == 201
    assert not Hold.objects.exists()
    # The prescriber's review: the top-up written again (here at 40 mg) takes over today's slot and may be given.
    services.prescription_change(prescription=methadone, prescriber=prescriber, morning_dose_mg=Decimal("40"),
                                 daily_max_mg=Decimal("40"), notes="Reviewed: missed top-ups")  # fmt: skip
    top_up = Slot.objects.get(patient=slot.patient, date=TODAY, top_up=True, status__in=["scheduled", "arrived"])
    assert post(client, f"/api/v1/dosing/slots/{top_up.pk}/checks/", good_check()).status_code == 201


def test_s7_three_days_without_the_top_up_refuse_the_top_up_through_the_page(
    client_for, prescription, methadone, slot, top_up_today, nurse, second_nurse
):
    only_the_injectable_given(prescription, methadone, nurse, second_nurse)

    words = TOP_UP_SENTENCE.removeprefix("S7 · ")
    assert words in refused(client_for(nurse).post(f"/dosing/slots/{top_up_today.pk}/check/", page_check()), "S7")
    assert Prescription.objects.get(pk=methadone.pk).is_live
