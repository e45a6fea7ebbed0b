"""SPEC 5 / issue 5: the nurse can change the ampoules the register proposes, on the dose page and in the API.

The default stays the register's least-waste proposal. A choice that cannot be right (a register of
another clinic or drug, not enough for the dose, an ampoule the dose does not need, not enough
stock) is a 400 naming `ampoules`, and nothing is saved: no dose, no register line.
"""

import html
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cd_register.models import EntryKind, Register, RegisterEntry
from dosing.models import Administration, SlotStatus
from tests.factories import RegisterFactory
from tests.factories.clinics import PASSWORD

from .conftest import MORNING, check

pytestmark = pytest.mark.django_db
X = "\u00d7"


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False):
        yield


def register(clinic, strength, drug="diamorphine_inj"):
    return Register.objects.get(clinic=clinic, drug=drug, strength_mg=Decimal(strength))


def drawn(slot):
    """The dose's register lines as (strength, kind, quantity, waste mg)."""
    administration = Administration.objects.get(slot=slot)
    entries = RegisterEntry.objects.filter(administration_ref=administration.pk).select_related("register")
    return [(int(e.register.strength_mg), e.kind, e.quantity, e.waste_mg) for e in entries.order_by("register_id")]


def nothing_saved(slot, entries_before):
    assert not Administration.objects.filter(slot=slot).exists()
    assert RegisterEntry.objects.count() == entries_before
    slot.refresh_from_db()
    assert slot.status == SlotStatus.CHECKED


# --- The dose page ------------------------------------------------------------------------------------------------


def text(response) -> str:
    return html.unescape(response.content.decode())


def dose_form(witness, **choice) -> dict:
    return {"dose_mg": "100", "route": "iv", "injection_site": "left_arm", "witness": witness.pk,
            "witness_password": PASSWORD, **choice}  # fmt: skip


def inputs(clinic, **counts) -> dict:
    """{'ampoules-<id of the 30 mg register>': '3', ...} from s30='3'."""
    return {f"ampoules-{register(clinic, int(name[1:])).pk}": value for name, value in counts.items()}


def test_the_dose_page_offers_each_strength_with_its_stock_and_keeps_the_proposal(client_for, clinic, slot, nurse):
    check(slot, nurse)

    page = text(client_for(nurse).get(f"/dosing/slots/{slot.pk}/dose/"))

    assert f"From the controlled-drug register: <strong>1 {X} 100 mg (100 mg, no waste)</strong>" in page
    for strength in (100, 30, 10):
        pk = register(clinic, strength).pk
        assert f'<label for="id_ampoules_{pk}">{strength} mg ampoules</label>' in page
        assert f'id="id_ampoules_{pk}_stock">2000 ampoules in stock' in page
    assert f'name="ampoules-{register(clinic, 50, "hydromorphone_inj").pk}"' not in page


def test_empty_ampoule_counts_draw_the_proposal(client_for, clinic, slot, nurse, second_nurse):
    check(slot, nurse)

    response = client_for(nurse).post(
        f"/dosing/slots/{slot.pk}/dose/", dose_form(second_nurse, **inputs(clinic, s100="", s30="", s10=""))
    )

    assert response.status_code == 302
    assert drawn(slot) == [(100, EntryKind.ADMINISTRATION, -1, 0)]


def test_the_nurses_choice_on_the_dose_page_is_drawn(client_for, clinic, slot, nurse, second_nurse):
    check(slot, nurse)

    response = client_for(nurse).post(
        f"/dosing/slots/{slot.pk}/dose/", dose_form(second_nurse, **inputs(clinic, s100="0", s30="3", s10="1"))
    )

    assert response.status_code == 302
    assert sorted(drawn(slot)) == [(10, EntryKind.ADMINISTRATION, -1, 0), (30, EntryKind.ADMINISTRATION, -3, 0)]
    assert [register(clinic, s).balance for s in (100, 30, 10)] == [2000, 1997, 1999]


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({"s30": "2"}, f"Ampoules: 2 {X} 30 mg (60 mg) is less than the 100 mg dose."),
        ({"s100": "1", "s30": "1"}, "opens an ampoule the dose does not need; draw fewer."),
        ({"s100": "0", "s30": "0"}, "Ampoules: choose at least one."),
        ({"s30": "lots"}, "Enter how many of each (0 or more), or leave them all empty."),
        ({"s30": "1e400"}, "Enter how many of each (0 or more), or leave them all empty."),
    ],
)
def test_a_choice_that_does_not_fit_is_refused_on_the_page(
    client_for, clinic, slot, nurse, second_nurse, counts, message
):
    check(slot, nurse)
    entries_before = RegisterEntry.objects.count()

    response = client_for(nurse).post(
        f"/dosing/slots/{slot.pk}/dose/", dose_form(second_nurse, **inputs(clinic, **counts))
    )

    assert response.status_code == 400
    page = text(response)
    error = page.split('id="id_ampoules_error">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert '<a href="#id_ampoules">Ampoules drawn: ' in page
    nothing_saved(slot, entries_before)


def test_a_register_of_another_drug_cannot_be_posted_on_the_page(client_for, clinic, slot, nurse, second_nurse):
    check(slot, nurse)
    entries_before = RegisterEntry.objects.count()
    hydromorphone = register(clinic, 50, "hydromorphone_inj")

    response = client_for(nurse).post(
        f"/dosing/slots/{slot.pk}/dose/", dose_form(second_nurse, **{f"ampoules-{hydromorphone.pk}": "2"})
    )

    assert response.status_code == 400
    assert 'id="id_ampoules_error">Choose from the registers listed.' in text(response)
    nothing_saved(slot, entries_before)


def test_recording_a_dose_without_a_choice_never_reads_the_register_list(client_for, clinic, slot, nurse, second_nurse):
    """The form's list of registers is for showing it: the default dose path only locks the registers it draws from."""
    check(slot, nurse)

    with CaptureQueriesContext(connection) as captured:
        assert client_for(nurse).post(f"/dosing/slots/{slot.pk}/dose/", dose_form(second_nurse)).status_code == 302

    register_reads = [q["sql"] for q in captured if 'FROM "cd_register_register"' in q["sql"]]
    assert register_reads and all("FOR UPDATE" in sql for sql in register_reads), register_reads


# --- The API ------------------------------------------------------------------------------------------------------


def post(client, slot, data):
    return client.post(f"/api/v1/dosing/slots/{slot.pk}/administration/", data, content_type="application/json")


def api_dose(witness, **fields) -> dict:
    return {"dose_mg": "100", "route": "iv", "injection_site": "left_arm", "witness": witness.pk,
            "witness_password": PASSWORD, **fields}  # fmt: skip


def test_the_api_draws_the_nurses_choice(client_for, clinic, slot, nurse, second_nurse):
    check(slot, nurse)
    choice = [{"register": register(clinic, 30).pk, "count": 3}, {"register": register(clinic, 10).pk, "count": 1}]

    response = post(client_for(nurse), slot, api_dose(second_nurse, ampoules=choice))

    assert response.status_code == 201, response.content
    assert sorted(drawn(slot)) == [(10, EntryKind.ADMINISTRATION, -1, 0), (30, EntryKind.ADMINISTRATION, -3, 0)]


def test_the_api_without_ampoules_draws_the_proposal(client_for, slot, nurse, second_nurse):
    check(slot, nurse)
    assert post(client_for(nurse), slot, api_dose(second_nurse)).status_code == 201
    assert drawn(slot) == [(100, EntryKind.ADMINISTRATION, -1, 0)]


def test_a_waste_of_part_of_the_nurses_ampoule_is_recorded(client_for, clinic, slot, nurse, second_nurse):
    check(slot, nurse)
    choice = [{"register": register(clinic, 30).pk, "count": 3}, {"register": register(clinic, 10).pk, "count": 1}]

    assert post(client_for(nurse), slot, api_dose(second_nurse, dose_mg="95", ampoules=choice)).status_code == 201

    assert sorted(drawn(slot)) == [
        (10, EntryKind.ADMINISTRATION, -1, 0),
        (10, EntryKind.WASTE, 0, 5),
        (30, EntryKind.ADMINISTRATION, -3, 0),
    ]


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        (lambda c, other: [{"register": other.pk, "count": 1}], "no controlled-drug register of your clinics has id"),
        (
            lambda c, other: [{"register": register(c, 50, "hydromorphone_inj").pk, "count": 2}],
            "Ampoules: Hydromorphone 50 mg ampoules is not a diamorphine register here.",
        ),
        (
            lambda c, other: [{"register": register(c, 30).pk, "count": 2}],
            f"Ampoules: 2 {X} 30 mg (60 mg) is less than the 100 mg dose.",
        ),
        (
            lambda c, other: [
                {"register": register(c, 100).pk, "count": 1},
                {"register": register(c, 10).pk, "count": 1},
            ],
            "opens an ampoule the dose does not need; draw fewer.",
        ),
        (
            lambda c, other: [{"register": register(c, 100).pk, "count": 0}],
            "Quantity: must be more than 0.",
        ),
        (lambda c, other: [], "Ampoules: choose at least one."),
        (lambda c, other: [{"register": register(c, 30).pk}], "Ampoules: item 1, count: This field is required."),
    ],
)
def test_the_api_refuses_a_choice_that_cannot_be_right_naming_ampoules(
    client_for, clinic, other_clinic, slot, nurse, second_nurse, choice, message
):
    check(slot, nurse)
    elsewhere = RegisterFactory(clinic=other_clinic)
    entries_before = RegisterEntry.objects.count()

    response = post(client_for(nurse), slot, api_dose(second_nurse, ampoules=choice(clinic, elsewhere)))

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["ampoules"]
    assert message in response.json()["errors"]["ampoules"][0]
    nothing_saved(slot, entries_before)


def test_the_api_refuses_a_choice_the_stock_cannot_cover(client_for, clinic, slot, nurse, second_nurse):
    check(slot, nurse)
    Register.objects.filter(pk=register(clinic, 30).pk).update(balance=2)
    entries_before = RegisterEntry.objects.count()
    choice = [{"register": register(clinic, 30).pk, "count": 3}, {"register": register(clinic, 10).pk, "count": 1}]

    response = post(client_for(nurse), slot, api_dose(second_nurse, ampoules=choice))

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "ampoules": [
            "Only 2 ampoules of 30 mg diamorphine ampoules in stock, 3 ampoules needed: record the receipt first."
        ]
    }
    nothing_saved(slot, entries_before)


def test_the_schema_documents_the_ampoules(client_for, nurse):
    schema = client_for(nurse).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]

    assert components["AdministerIn"]["properties"]["ampoules"]["items"] == {"$ref": "#/components/schemas/AmpouleIn"}
    assert components["CorrectionIn"]["properties"]["ampoules"]["nullable"] is True
    assert set(components["AmpouleIn"]["required"]) == {"register", "count"}
