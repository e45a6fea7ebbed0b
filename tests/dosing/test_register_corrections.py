"""S10 + SPEC 5: a dose correction keeps the controlled-drug register true, in the same transaction.

Through the service, the correction page and the API: the default (the ampoules recorded were
right, only the dose differs: the waste follows) and the nurse's statement of the ampoules
really drawn (none at all when the dose was recorded on the wrong patient). A refused register
change saves no dose correction. The stocked cupboard holds 2000 of each strength.
"""

import html
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from cd_register.models import EntryKind, Register, RegisterEntry
from dosing import services
from dosing.models import Administration, Route, SlotStatus
from tests.factories import PrescriptionFactory, SlotFactory
from tests.factories.clinics import PASSWORD

from .conftest import TODAY, at, check, check_and_dose, dose

pytestmark = pytest.mark.django_db
CORRECTED_AT = at(TODAY, 9, 30)


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(CORRECTED_AT, tick=False):
        yield


def register(clinic, strength, drug="diamorphine_inj"):
    return Register.objects.get(clinic=clinic, drug=drug, strength_mg=Decimal(strength))


def balance(clinic, strength) -> Decimal:
    return register(clinic, strength).balance


def correct(administration, author, witness, *, dose_mg, **overrides):
    fields = {
        "reason": "Recorded the wrong amount",
        "dose_mg": Decimal(dose_mg),
        "route": Route.INTRAVENOUS,
        "injection_site": "left_arm",
        "given_at": administration.given_at,
        "witness": witness,
        "witness_password": PASSWORD,
        "now": CORRECTED_AT,
    }
    fields.update(overrides)
    return services.correct_administration(administration=administration, author=author, **fields)


def lines_of(administration):
    entries = RegisterEntry.objects.filter(administration_ref=administration.pk).select_related("register", "corrects")
    return [(int(e.register.strength_mg), e.kind, e.quantity, e.waste_mg, e.balance_after) for e in entries]


# --- Through the service ----------------------------------------------------------------------------------------


def test_80mg_given_of_a_100mg_dose_records_20mg_waste_with_the_correction(clinic, slot, nurse, second_nurse):
    given = check_and_dose(slot, nurse, second_nurse)

    correction = correct(given, second_nurse, nurse, dose_mg=80)

    assert lines_of(correction) == [(100, EntryKind.WASTE, 0, 20, 1999)]
    waste = RegisterEntry.objects.get(administration_ref=correction.pk)
    assert (waste.made_by, waste.witnessed_by, waste.patient, waste.occurred_at) == (
        second_nurse, nurse, slot.patient, CORRECTED_AT
    )  # fmt: skip
    assert lines_of(given) == [(100, EntryKind.ADMINISTRATION, -1, 0, 1999)], "the original lines stay as they were"
    assert balance(clinic, 100) == 1999


def test_a_dose_recorded_on_the_wrong_patient_gives_the_ampoule_back(clinic, slot, nurse, second_nurse):
    given = check_and_dose(slot, nurse, second_nurse)
    (drawn,) = RegisterEntry.objects.filter(administration_ref=given.pk)

    correction = correct(given, nurse, second_nurse, dose_mg=0, ampoules=[], reason="Recorded on the wrong patient")

    assert lines_of(correction) == [(100, EntryKind.CORRECTION, 1, 0, 2000)]
    assert RegisterEntry.objects.get(administration_ref=correction.pk).corrects == drawn
    assert balance(clinic, 100) == 2000
    slot.refresh_from_db()
    assert (slot.status, slot.status_reason) == (
        SlotStatus.SCHEDULED, "Dose record corrected to no dose: Recorded on the wrong patient"
    ), "reopened while its window is open, so the right dose can be given"  # fmt: skip


def test_other_ampoules_drawn_are_corrected_in_each_register(clinic, slot, nurse, second_nurse):
    """Recorded 1 x 100 mg; really 3 x 30 mg + 1 x 10 mg for the same 100 mg."""
    given = check_and_dose(slot, nurse, second_nurse)

    correction = correct(
        given, nurse, second_nurse, dose_mg=100, ampoules=[(register(clinic, 30), 3), (register(clinic, 10), 1)]
    )

    assert sorted(lines_of(correction)) == [
        (10, EntryKind.ADMINISTRATION, -1, 0, 1999),
        (30, EntryKind.ADMINISTRATION, -3, 0, 1997),
        (100, EntryKind.CORRECTION, 1, 0, 2000),
    ]
    assert [balance(clinic, s) for s in (100, 30, 10)] == [2000, 1997, 1999]


def test_a_refused_register_change_saves_no_dose_correction(clinic, slot, nurse, second_nurse):
    given = check_and_dose(slot, nurse, second_nurse)
    Register.objects.filter(pk=register(clinic, 30).pk).update(balance=1)
    entries_before = RegisterEntry.objects.count()

    with pytest.raises(ValidationError) as refused:
        correct(given, nurse, second_nurse, dose_mg=100, ampoules=[(register(clinic, 30), 4)])

    assert refused.value.message_dict["ampoules"] == [
        "Only 1 ampoule of 30 mg diamorphine ampoules in stock, 4 ampoules needed: record the receipt first."
    ]
    assert list(Administration.objects.filter(slot=slot)) == [given]
    assert RegisterEntry.objects.count() == entries_before
    slot.refresh_from_db()
    assert slot.status == SlotStatus.GIVEN


def test_a_larger_dose_than_the_ampoules_recorded_asks_which_ampoules(clinic, slot, nurse, second_nurse):
    given = check_and_dose(slot, nurse, second_nurse, dose_mg=Decimal(90))  # 3 x 30 mg

    with pytest.raises(ValidationError) as refused:
        correct(given, nurse, second_nurse, dose_mg=100)

    assert "enter the ampoules really drawn" in refused.value.message_dict["ampoules"][0]
    assert list(Administration.objects.filter(slot=slot)) == [given]
    assert correct(given, nurse, second_nurse, dose_mg=100, ampoules=[(register(clinic, 100), 1)]).dose_mg == 100
    assert [balance(clinic, s) for s in (100, 30)] == [1999, 2000]


def test_a_drug_outside_the_register_takes_no_ampoules(clinic, patient, prescriber, nurse, second_nurse):
    oral = PrescriptionFactory(
        patient=patient, prescriber=prescriber, drug="morphine_sr_oral", route=Route.ORAL,
        morning_dose_mg=Decimal(200), afternoon_dose_mg=None, daily_max_mg=Decimal(400),
    )  # fmt: skip
    slot = SlotFactory(prescription=oral, date=TODAY)
    check(slot, nurse)
    with pytest.raises(ValidationError) as refused:  # the dose itself: refused, not silently ignored
        dose(slot, nurse, second_nurse, dose_mg=Decimal(200), route=Route.ORAL, injection_site="",
             ampoules=[(register(clinic, 100), 2)])  # fmt: skip
    assert refused.value.message_dict["ampoules"] == [
        "Ampoules: oral slow-release morphine is not in a controlled-drug register here."
    ]
    assert not Administration.objects.filter(slot=slot).exists()
    given = dose(slot, nurse, second_nurse, dose_mg=Decimal(200), route=Route.ORAL, injection_site="")
    entries_before = RegisterEntry.objects.count()

    with pytest.raises(ValidationError) as refused:
        correct(given, nurse, second_nurse, dose_mg=150, route=Route.ORAL, injection_site="", ampoules=[])
    assert refused.value.message_dict["ampoules"] == [
        "Ampoules: oral slow-release morphine is not in a controlled-drug register here."
    ]

    assert correct(given, nurse, second_nurse, dose_mg=150, route=Route.ORAL, injection_site="").dose_mg == 150
    assert RegisterEntry.objects.count() == entries_before


# --- Through the pages --------------------------------------------------------------------------------------------


def text(response) -> str:
    return html.unescape(response.content.decode())


def correction_form(given, witness, **overrides) -> dict:
    return {"reason": "Recorded the wrong amount", "dose_mg": "80", "route": "iv", "injection_site": "left_arm",
            "given_at": "2026-11-18T09:02", "witness": witness.pk, "witness_password": PASSWORD,
            **overrides}  # fmt: skip


def test_the_correction_page_shows_what_the_register_holds_and_offers_each_strength(
    client_for, clinic, slot, nurse, second_nurse
):
    given = check_and_dose(slot, nurse, second_nurse, dose_mg=Decimal(95))

    page = text(client_for(nurse).get(f"/dosing/administrations/{given.pk}/correct/"))

    assert (
        "The controlled-drug register shows for this dose: <strong>1 \u00d7 100 mg drawn, 5 mg wasted</strong>" in page
    )
    for strength in (100, 30, 10):
        assert f'name="ampoules-{register(clinic, strength).pk}"' in page
    assert 'name="ampoules-{}"'.format(register(clinic, 50, "hydromorphone_inj").pk) not in page


def test_the_correction_page_puts_the_waste_right_and_the_slot_page_shows_the_lines(
    client_for, clinic, slot, nurse, second_nurse
):
    given = check_and_dose(slot, nurse, second_nurse)
    client = client_for(second_nurse)

    assert client.post(f"/dosing/administrations/{given.pk}/correct/", correction_form(given, nurse)).status_code == 302

    correction = Administration.objects.get(corrects=given)
    assert lines_of(correction) == [(100, EntryKind.WASTE, 0, 20, 1999)]
    page = text(client.get(f"/dosing/slots/{slot.pk}/"))
    lines = page.split("<caption>Controlled-drug register: the lines of this dose</caption>", 1)[1].split("</table>")[0]
    rows = [" ".join(row.split()) for row in lines.split("<tr>")[2:]]
    assert "<td>Original entry</td>" in rows[0] and "Administration: Sam Taylor" in rows[0] and "-1" in rows[0]
    assert "<td>Correction, 18 Nov 09:30</td>" in rows[1]
    assert "Waste: 20 mg wasted, dose of Sam Taylor. Unused part of the 100 mg ampoules drawn" in rows[1]


def test_the_correction_page_takes_the_ampoules_really_drawn(client_for, clinic, slot, nurse, second_nurse):
    given = check_and_dose(slot, nurse, second_nurse)
    none_drawn = {f"ampoules-{register(clinic, s).pk}": "0" for s in (100, 30, 10)}

    response = client_for(second_nurse).post(
        f"/dosing/administrations/{given.pk}/correct/",
        correction_form(given, nurse, dose_mg="0", reason="Recorded on the wrong patient", **none_drawn),
    )

    assert response.status_code == 302
    assert lines_of(Administration.objects.get(corrects=given)) == [(100, EntryKind.CORRECTION, 1, 0, 2000)]


def test_a_refused_register_change_on_the_page_keeps_the_form_and_saves_nothing(
    client_for, clinic, slot, nurse, second_nurse
):
    given = check_and_dose(slot, nurse, second_nurse)
    Register.objects.filter(pk=register(clinic, 30).pk).update(balance=1)
    choice = {f"ampoules-{register(clinic, 30).pk}": "4", f"ampoules-{register(clinic, 100).pk}": ""}

    response = client_for(second_nurse).post(
        f"/dosing/administrations/{given.pk}/correct/", correction_form(given, nurse, dose_mg="100", **choice)
    )

    assert response.status_code == 400
    page = text(response)
    message = "Only 1 ampoule of 30 mg diamorphine ampoules in stock, 4 ampoules needed: record the receipt first."
    assert f'id="id_ampoules_error">{message}' in page
    assert f'<a href="#id_ampoules">Ampoules really drawn: {message}</a>' in page
    assert f'name="ampoules-{register(clinic, 30).pk}" id="id_ampoules_{register(clinic, 30).pk}" value="4"' in page
    assert not Administration.objects.filter(corrects=given).exists()


# --- Through the API ----------------------------------------------------------------------------------------------


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def api_correction(given, witness, **overrides) -> dict:
    return {"reason": "Recorded on the wrong patient", "dose_mg": "0", "route": "iv", "injection_site": "left_arm",
            "given_at": given.given_at.isoformat(), "witness": witness.pk, "witness_password": PASSWORD,
            **overrides}  # fmt: skip


def test_the_api_correction_takes_the_ampoules_really_drawn(client_for, clinic, slot, nurse, second_nurse):
    given = check_and_dose(slot, nurse, second_nurse)
    url = f"/api/v1/dosing/administrations/{given.pk}/corrections/"

    response = post(client_for(second_nurse), url, api_correction(given, nurse, ampoules=[]))

    assert response.status_code == 201, response.content
    assert lines_of(Administration.objects.get(pk=response.json()["id"])) == [(100, EntryKind.CORRECTION, 1, 0, 2000)]


def test_the_api_correction_without_ampoules_follows_the_dose(client_for, clinic, slot, nurse, second_nurse):
    given = check_and_dose(slot, nurse, second_nurse)
    url = f"/api/v1/dosing/administrations/{given.pk}/corrections/"

    response = post(client_for(second_nurse), url, api_correction(given, nurse, dose_mg="70", ampoules=None))

    assert response.status_code == 201, response.content
    assert lines_of(Administration.objects.get(pk=response.json()["id"])) == [(100, EntryKind.WASTE, 0, 30, 1999)]


@pytest.mark.parametrize(
    ("ampoules", "message"),
    [
        ([{"register": 999999, "count": 1}], "Ampoules: no controlled-drug register of your clinics has id 999999."),
        ([{"register": 1}], "Ampoules: item 1, count: This field is required."),
        ([{"register": 2**70, "count": 1}], "Ampoules: item 1, register: Ensure this value is less than or equal to"),
        ([{"register": 1, "count": "-1"}], "Ampoules: item 1, count: Ensure this value is greater than or equal to 0."),
        ("two", 'Ampoules: Expected a list of items but got type "str".'),
        ([5], "Ampoules: item 1, Invalid data. Expected a dictionary, but got int."),
    ],
)
def test_the_api_correction_refuses_bad_ampoules_naming_the_field(
    client_for, slot, nurse, second_nurse, ampoules, message
):
    given = check_and_dose(slot, nurse, second_nurse)
    url = f"/api/v1/dosing/administrations/{given.pk}/corrections/"

    response = post(client_for(second_nurse), url, api_correction(given, nurse, ampoules=ampoules))

    assert response.status_code == 400
    (error,) = response.json()["errors"]["ampoules"]
    assert error.startswith(message)
    assert not Administration.objects.filter(corrects=given).exists()


def test_the_api_refuses_a_larger_draw_without_stock_and_saves_nothing(client_for, clinic, slot, nurse, second_nurse):
    given = check_and_dose(slot, nurse, second_nurse)
    Register.objects.filter(pk=register(clinic, 30).pk).update(balance=0)
    url = f"/api/v1/dosing/administrations/{given.pk}/corrections/"
    choice = [{"register": register(clinic, 30).pk, "count": 4}]

    response = post(client_for(second_nurse), url, api_correction(given, nurse, dose_mg="100", ampoules=choice))

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "ampoules": ["No 30 mg diamorphine ampoules left in stock (balance 0): record the receipt first."]
    }
    assert not Administration.objects.filter(corrects=given).exists()
    assert balance(clinic, 100) == 1999
