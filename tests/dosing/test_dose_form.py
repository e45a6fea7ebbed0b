"""The dose form in one pass (issue 14.5): every problem at once, no site chosen for the nurse, the PIN typed once.

The witness's PIN is never drawn back into the page: when another field was wrong, the PIN's
confirmation is kept on the server (the session) for that slot, nurse, witness, dose and
ampoules, for five minutes; change any of them and the witness types it again.
"""

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinics.models import User
from dosing import services
from dosing.models import Administration, Session
from tests.factories import PrescriptionFactory, SlotFactory
from tests.factories.clinics import PASSWORD

from .conftest import MORNING, TODAY, check
from .test_api import good_dose as api_dose
from .test_api import post, refusal
from .test_pages import dose_url, good_dose, refused, text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


def errors_next_to(page: str) -> set[str]:
    return set(re.findall(r'id="id_(\w+)_error"', page))


def without(data: dict, *names) -> dict:
    return {key: value for key, value in data.items() if key not in names}


def failures(user) -> int:
    return User.objects.values_list("witness_pin_failures", flat=True).get(pk=user.pk)


# --- Every problem at once ------------------------------------------------------------------------------------------


def test_a_dose_above_the_prescription_no_site_and_no_pin_are_refused_together(client_for, slot, nurse, second_nurse):
    check(slot, nurse)
    data = without({**good_dose(second_nurse), "dose_mg": "120", "injection_site": ""}, "witness_password")
    response = client_for(nurse).post(dose_url(slot), data)
    summary = refused(response, "S4", "dose_mg")
    assert errors_next_to(text(response)) == {"dose_mg", "injection_site", "witness_password"}
    assert "more than the prescribed 100 mg" in summary
    assert "Record the injection site" in summary
    assert "The witness types their own PIN" in summary
    assert not Administration.objects.exists()


def test_a_missing_dose_a_self_witness_and_a_wrong_route_are_refused_together(client_for, slot, nurse):
    check(slot, nurse)
    data = {**good_dose(nurse), "dose_mg": "", "route": "im"}
    response = client_for(nurse).post(dose_url(slot), data)
    assert response.status_code == 400
    assert errors_next_to(text(response)) == {"dose_mg", "route", "witness", "witness_password"}
    assert "another member of staff" in text(response)
    assert failures(nurse) == 0  # a PIN for a witness who may not witness is not tried
    assert not Administration.objects.exists()


def test_the_api_still_answers_one_refusal_with_its_rule(client_for, slot, nurse, second_nurse):
    check(slot, nurse)
    response = post(client_for(nurse), f"/api/v1/dosing/slots/{slot.pk}/administration/", api_dose(second_nurse))
    assert response.status_code == 201
    again = post(client_for(nurse), f"/api/v1/dosing/slots/{slot.pk}/administration/", api_dose(second_nurse))
    assert again.json()["rule"] == "S1"


# --- No injection site chosen for the nurse -------------------------------------------------------------------------


def test_an_intravenous_dose_has_no_injection_site_chosen_before_the_nurse_chooses(client_for, slot, nurse):
    check(slot, nurse)
    page = text(client_for(nurse).get(dose_url(slot)))
    select = page.split('name="injection_site"', 1)[1].split("</select>", 1)[0]
    assert "Not an injection" not in page
    assert '<option value="" selected>Choose where it was injected</option>' in select
    assert select.count("selected") == 1
    assert "(optional)" not in page.split('for="id_injection_site"', 1)[1].split("</label>", 1)[0]


def test_an_oral_top_up_has_no_injection_site_to_choose(client_for, patient, nurse, second_nurse, prescriber):
    top_up = PrescriptionFactory(
        patient=patient, prescriber=prescriber, drug="methadone_oral", route="oral",
        morning_dose_mg=Decimal("60"), afternoon_dose_mg=None, daily_max_mg=Decimal("60"),
    )  # fmt: skip
    slot = SlotFactory(prescription=top_up, date=TODAY, session=Session.MORNING)
    check(slot, nurse)
    client = client_for(nurse)
    assert 'name="injection_site"' not in text(client.get(dose_url(slot)))
    data = {**without(good_dose(second_nurse), "injection_site"), "dose_mg": "60", "route": "oral"}
    assert client.post(dose_url(slot), data).status_code == 302
    assert Administration.objects.get(slot=slot).injection_site == ""


# --- The witness's PIN typed once -----------------------------------------------------------------------------------


def test_the_witness_is_not_asked_again_after_an_unrelated_field_was_wrong(client_for, slot, nurse, second_nurse):
    check(slot, nurse)
    client = client_for(nurse)
    first = client.post(dose_url(slot), {**good_dose(second_nurse), "injection_site": ""})
    refused(first, "S9", "injection_site")
    page = text(first)
    assert errors_next_to(page) == {"injection_site"}
    assert "has typed their PIN for this dose: no need to type it again" in page
    assert PASSWORD not in page  # the PIN is never drawn back into the page
    assert not re.search(r'name="witness_password"[^>]*value=', page)

    second = client.post(dose_url(slot), without(good_dose(second_nurse), "witness_password"))
    assert second.status_code == 302, text(second)
    given = Administration.objects.get(slot=slot)
    assert (given.witness, given.injection_site) == (second_nurse, "left_arm")
    assert not client.session.get("dosing.witness_confirmations")  # used once, then forgotten


def test_a_dose_recorded_at_the_first_submission_writes_nothing_to_the_session(client_for, slot, nurse, second_nurse):
    """The confirmation is kept only for a next try: a dose that goes through at once leaves nothing to keep, so
    the session is not written (three statements on every dose through the page otherwise)."""
    check(slot, nurse)
    client = client_for(nurse)
    client.get("/dosing/board/")
    with CaptureQueriesContext(connection) as queries:
        assert client.post(dose_url(slot), good_dose(second_nurse)).status_code == 302
    assert Administration.objects.filter(slot=slot).exists()
    written = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("UPDATE", "INSERT"))]
    assert not [sql for sql in written if '"django_session"' in sql], written


def test_a_different_dose_or_witness_needs_the_pin_again(client_for, slot, nurse, second_nurse, prescriber):
    check(slot, nurse)
    client = client_for(nurse)
    refused(client.post(dose_url(slot), {**good_dose(second_nurse), "injection_site": ""}), "S9", "injection_site")
    other_dose = without({**good_dose(second_nurse), "dose_mg": "90"}, "witness_password")
    summary = refused(client.post(dose_url(slot), other_dose), "S9", "witness_password")
    assert "The witness types their own PIN" in summary
    other_witness = without({**good_dose(prescriber)}, "witness_password")
    refused(client.post(dose_url(slot), other_witness), "S9", "witness_password")
    assert not Administration.objects.exists()


def test_the_confirmation_lasts_five_minutes(client_for, slot, nurse, second_nurse, _morning):
    check(slot, nurse)
    client = client_for(nurse)
    refused(client.post(dose_url(slot), {**good_dose(second_nurse), "injection_site": ""}), "S9", "injection_site")
    _morning.shift(datetime.timedelta(minutes=5, seconds=1))
    late = client.post(dose_url(slot), without(good_dose(second_nurse), "witness_password"))
    refused(late, "S9", "witness_password")
    assert not Administration.objects.exists()


def test_a_confirmation_kept_for_one_nurse_does_not_serve_another(client_for, slot, nurse, second_nurse, prescriber):
    check(slot, nurse)
    refused(
        client_for(nurse).post(dose_url(slot), {**good_dose(second_nurse), "injection_site": ""}),
        "S9",
        "injection_site",
    )
    # The session is the nurse's; the prescriber signs in on the same browser and tries the same dose.
    response = client_for(prescriber).post(dose_url(slot), without(good_dose(second_nurse), "witness_password"))
    refused(response, "S9", "witness_password")
    assert not Administration.objects.exists()


def test_a_wrong_pin_and_another_problem_are_shown_together_and_the_guess_counts_once(
    client_for, slot, nurse, second_nurse
):
    check(slot, nurse)
    response = client_for(nurse).post(
        dose_url(slot), {**good_dose(second_nurse), "injection_site": "", "witness_password": "nope"}
    )
    refused(response, "S9", "witness_password")
    assert errors_next_to(text(response)) == {"injection_site", "witness_password"}
    assert failures(second_nurse) == 1
    assert not client_for(nurse).session.get("dosing.witness_confirmations")


def test_a_pin_typed_for_a_wrong_dose_is_not_tried_and_says_so(client_for, slot, nurse, second_nurse):
    check(slot, nurse)
    response = client_for(nurse).post(dose_url(slot), {**good_dose(second_nurse), "dose_mg": "0"})
    assert errors_next_to(text(response)) == {"dose_mg", "witness_password"}
    assert "types their PIN once the dose and the witness are right" in text(response)
    assert failures(second_nurse) == 0


# --- The confirmation itself: only what the service signed, for exactly this dose -----------------------------------


def test_a_forged_or_borrowed_confirmation_does_not_replace_the_pin(slot, nurse, second_nurse, prescriber):
    check(slot, nurse)
    now = MORNING + datetime.timedelta(minutes=2)
    vouched = {"slot": slot, "nurse": nurse, "witness": second_nurse, "dose_mg": Decimal("100"), "ampoules": None}
    token = services.confirm_witness(witness_password=PASSWORD, now=now, **vouched)
    assert services.witness_confirmation_holds(token, now=now, **vouched)
    assert not services.witness_confirmation_holds(token + "x", now=now, **vouched)
    assert not services.witness_confirmation_holds(token, now=now, **{**vouched, "nurse": prescriber})
    assert not services.witness_confirmation_holds(token, now=now, **{**vouched, "dose_mg": Decimal("90")})
    assert not services.witness_confirmation_holds(token, now=now - datetime.timedelta(seconds=1), **vouched)
    with pytest.raises(Exception, match="types their own PIN"):
        services.administer_dose(
            slot=slot, nurse=prescriber, dose_mg=Decimal("100"), route="iv", injection_site="left_arm",
            witness=second_nurse, witness_confirmation=token, now=now,
        )  # fmt: skip
    given = services.administer_dose(
        slot=slot, nurse=nurse, dose_mg=Decimal("100"), route="iv", injection_site="left_arm",
        witness=second_nurse, witness_confirmation=token, now=now,
    )  # fmt: skip
    assert given.witness == second_nurse


def test_a_witness_deactivated_after_confirming_is_refused(slot, nurse, second_nurse):
    check(slot, nurse)
    now = MORNING + datetime.timedelta(minutes=2)
    vouched = {"slot": slot, "nurse": nurse, "witness": second_nurse, "dose_mg": Decimal("100"), "ampoules": None}
    token = services.confirm_witness(witness_password=PASSWORD, now=now, **vouched)
    User.objects.filter(pk=second_nurse.pk).update(is_active=False)
    second_nurse.refresh_from_db()
    with pytest.raises(Exception, match="active member of staff"):
        services.administer_dose(
            slot=slot, nurse=nurse, dose_mg=Decimal("100"), route="iv", injection_site="left_arm",
            witness=second_nurse, witness_confirmation=token, now=now,
        )  # fmt: skip
    assert not Administration.objects.exists()


def test_the_api_takes_no_confirmation_only_the_pin(client_for, slot, nurse, second_nurse):
    check(slot, nurse)
    token = services.confirm_witness(
        slot=slot, nurse=nurse, witness=second_nurse, witness_password=PASSWORD, dose_mg=Decimal("100"),
        now=MORNING,
    )  # fmt: skip
    data = {**without(api_dose(second_nurse), "witness_password"), "witness_confirmation": token}
    response = post(client_for(nurse), f"/api/v1/dosing/slots/{slot.pk}/administration/", data)
    refusal(response, "S9", "witness_password")
    assert not Administration.objects.exists()
