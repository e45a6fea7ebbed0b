"""S9: every witness refusal names the rule, through the API and the pages, for doses, corrections and the register.

A witness from another clinic, no witness, the nurse witnessing herself, no PIN and a wrong PIN are each
refused with "S9 · " and the facts, on the field they concern, and nothing is recorded.
"""

import pytest
import time_machine
from django.urls import reverse

from cd_register.models import RegisterEntry
from dosing.models import Administration
from tests.cd_register.test_pages import receipt_post
from tests.factories.clinics import PASSWORD

from .conftest import MORNING, TODAY, at, check, check_and_dose
from .test_api import good_dose as api_dose
from .test_api import post, refusal
from .test_pages import good_dose as page_dose
from .test_pages import refused

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False):
        yield


WITNESS_CASES = [
    # (name, how the request changes, field, words)
    ("another clinic", lambda dose, people: {**dose, "witness": people["other_nurse"].pk}, "witness", "of this clinic"),
    (
        "no witness",
        lambda dose, people: {k: v for k, v in dose.items() if k != "witness"},
        "witness",
        "needs a witness",
    ),
    ("empty witness", lambda dose, people: {**dose, "witness": ""}, "witness", "needs a witness"),
    ("herself", lambda dose, people: {**dose, "witness": people["nurse"].pk}, "witness", "another member of staff"),
    (
        "no PIN",
        lambda dose, people: {k: v for k, v in dose.items() if k != "witness_password"},
        "witness_password",
        "PIN",
    ),
    ("wrong PIN", lambda dose, people: {**dose, "witness_password": "wrong1"}, "witness_password", "not correct"),
]


@pytest.fixture
def people(nurse, second_nurse, other_nurse):
    return {"nurse": nurse, "second_nurse": second_nurse, "other_nurse": other_nurse}


@pytest.mark.parametrize(("name", "change", "field", "words"), WITNESS_CASES, ids=[case[0] for case in WITNESS_CASES])
def test_api_every_witness_refusal_of_a_dose_names_s9(client_for, slot, nurse, people, name, change, field, words):
    check(slot, nurse)
    data = change(api_dose(people["second_nurse"]), people)
    response = post(client_for(nurse), f"/api/v1/dosing/slots/{slot.pk}/administration/", data)
    assert words in refusal(response, "S9", field)
    assert response.json()["rule"] == "S9"
    assert not Administration.objects.exists()


@pytest.mark.parametrize(("name", "change", "field", "words"), WITNESS_CASES, ids=[case[0] for case in WITNESS_CASES])
def test_page_every_witness_refusal_of_a_dose_names_s9(client_for, slot, nurse, people, name, change, field, words):
    check(slot, nurse)
    data = change(page_dose(people["second_nurse"]), people)
    response = client_for(nurse).post(f"/dosing/slots/{slot.pk}/dose/", data)
    assert words in refused(response, "S9", field)
    assert not Administration.objects.exists()


def correction(witness) -> dict:
    return {"reason": "Wrong amount", "dose_mg": "90", "route": "iv", "injection_site": "left_arm",
            "given_at": at(TODAY, 8, 42).isoformat(), "witness": witness.pk, "witness_password": PASSWORD}  # fmt: skip


def test_api_a_correction_witnessed_from_another_clinic_names_s9(client_for, slot, nurse, second_nurse, other_nurse):
    given = check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 40))
    url = f"/api/v1/dosing/administrations/{given.pk}/corrections/"
    refusal(post(client_for(second_nurse), url, correction(other_nurse)), "S9", "witness")
    refusal(post(client_for(second_nurse), url, {**correction(nurse), "witness": None}), "S9", "witness")
    assert Administration.objects.count() == 1


def test_page_a_correction_witnessed_from_another_clinic_names_s9(client_for, slot, nurse, second_nurse, other_nurse):
    given = check_and_dose(slot, nurse, second_nurse, now=at(TODAY, 8, 40))
    data = {**correction(other_nurse), "given_at": "2026-11-18T08:42"}
    refused(client_for(second_nurse).post(f"/dosing/administrations/{given.pk}/correct/", data), "S9", "witness")
    assert Administration.objects.count() == 1


@pytest.fixture
def register100(clinic):
    from cd_register.models import Register

    return Register.objects.filter(clinic=clinic).order_by("pk").first()


@pytest.mark.parametrize(
    ("witness", "password"), [("maggie.manager", PASSWORD), ("nobody", PASSWORD), ("tom.nurse", "guess1")]
)
def test_page_register_witness_refusals_name_s9(client_for, manager, second_nurse, register100, witness, password):
    before = RegisterEntry.objects.count()
    data = receipt_post(second_nurse, witness=witness, witness_password=password)
    response = client_for(manager).post(reverse("cd-register-receipt", args=[register100.pk]), data)
    assert "S9 · " not in response.text and "witness" in response.text.lower()  # the sentence, not the code
    assert RegisterEntry.objects.count() == before


def test_api_register_witness_refusal_names_s9(client_for, manager, second_nurse, register100):
    data = {**receipt_post(second_nurse, witness="nobody"), "quantity": 10}
    response = post(client_for(manager), reverse("api-cd-register-receipts", args=[register100.pk]), data)
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["witness"][0].startswith("S9 · ")


def test_the_witness_read_with_the_dose_answers_s9_as_the_rule_s_own_question_for_everyone(
    clinic, other_clinic, nurse, second_nurse, prescriber, keyworker, manager, other_nurse
):
    """The API reads the witness with S9's answer for the slot's clinic (one query less on every dose); the dose
    takes that answer for that clinic only. For every kind of person, and for another clinic, it is the answer
    of the rule's own query."""
    from clinics.models import User
    from dosing.selectors import witness_at
    from dosing.services.doses import _may_witness
    from tests.factories.clinics import StaffFactory

    inactive = StaffFactory(roles=["nurse"], clinics=[clinic], is_active=False)
    both = StaffFactory(roles=["nurse"], clinics=[clinic, other_clinic])
    people = [nurse, second_nurse, prescriber, keyworker, manager, other_nurse, inactive, both]
    closed = StaffFactory(roles=["nurse"], clinics=[other_clinic])
    other_clinic.is_active = False
    other_clinic.save()
    people.append(closed)

    for site in (clinic, other_clinic):
        for person in people:
            read = witness_at(site, person.pk)
            asked = _may_witness(User.objects.get(pk=person.pk), site)
            assert read.may_witness_at == (site.pk, asked), (person.username, site.code)
            assert _may_witness(read, site) is asked
    assert [p.username for p in people if witness_at(clinic, p.pk).may_witness_here] == [
        nurse.username, second_nurse.username, prescriber.username, both.username
    ]  # fmt: skip
    elsewhere = witness_at(other_clinic, both.pk)
    assert _may_witness(elsewhere, clinic) is True, "an answer for another clinic is not taken: the rule asks again"
    assert witness_at(clinic, 2**62) is None
