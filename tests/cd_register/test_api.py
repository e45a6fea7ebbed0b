"""The register through the staff API: the same services, problem details naming the field, scoped by clinic."""

import csv
import io

import pytest

from cd_register import services
from cd_register.models import Discrepancy, EntryKind, RegisterEntry
from tests.factories import RegisterFactory
from tests.factories.clinics import PASSWORD

pytestmark = pytest.mark.django_db
X = "\N{MULTIPLICATION SIGN}"
API = "/api/v1"


def receipt(witness_user, **overrides):
    return {
        "quantity": "10",
        "supplier_name": "Tees Hospital Pharmacy",
        "supplier_address": "Marton Road, Middlesbrough",
        "batch": "B9",
        "expires_on": "2030-06-30",
        "witness": witness_user.username,
        "witness_password": PASSWORD,
        **overrides,
    }


def test_registers_are_listed_for_the_users_clinics_only(client_for, nurse, register100, other_clinic):
    RegisterFactory(clinic=other_clinic, strength_mg=500)
    response = client_for(nurse).get(f"{API}/cd-registers/")
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [register100.pk]
    assert response.json()["results"][0]["label"] == "Diamorphine 100 mg ampoules"


def test_outsiders_and_wrong_roles(client_for, other_nurse, commissioner, keyworker, register100):
    assert client_for(other_nurse).get(f"{API}/cd-registers/{register100.pk}/").status_code == 404
    assert client_for(other_nurse).get(f"{API}/cd-registers/{register100.pk}/entries/").status_code == 404
    for user in (commissioner, keyworker):
        assert client_for(user).get(f"{API}/cd-registers/").status_code == 403


def test_manager_creates_a_register_and_records_a_receipt(client_for, manager, nurse, clinic):
    client = client_for(manager)
    response = client.post(f"{API}/cd-registers/", {"drug": "diamorphine_inj", "strength_mg": "30", "form": "ampoule"})
    assert response.status_code == 201, response.json()
    register_id = response.json()["id"]
    response = client.post(f"{API}/cd-registers/{register_id}/receipts/", receipt(nurse))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["quantity"], body["balance_after"], body["sequence"]) == ("receipt", "10.00", "10.00", 1)
    assert "witness_password" not in body


def test_unknown_strength_is_a_problem_naming_the_field(client_for, manager):
    response = client_for(manager).post(
        f"{API}/cd-registers/", {"drug": "diamorphine_inj", "strength_mg": "40", "form": "ampoule"}
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "strength_mg" in response.json()["errors"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-4"}, "quantity"),
        ({"supplier_name": ""}, "supplier_name"),
        ({"batch": ""}, "batch"),
        ({"witness": "maggie.manager"}, "witness"),
        ({"witness": "dana.nurse"}, "witness"),  # staff of another clinic
        ({"witness_password": "nope"}, "witness_password"),
    ],
)
def test_bad_receipts_are_refused_and_nothing_is_recorded(
    client_for, manager, nurse, other_nurse, register100, overrides, field
):
    response = client_for(manager).post(f"{API}/cd-registers/{register100.pk}/receipts/", receipt(nurse, **overrides))
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not RegisterEntry.objects.exists()


def test_nurse_cannot_record_a_receipt(client_for, nurse, manager, register100):
    response = client_for(nurse).post(f"{API}/cd-registers/{register100.pk}/receipts/", receipt(manager))
    assert response.status_code == 403


def test_waste_never_takes_the_balance_below_zero(client_for, nurse, second_nurse, register100):
    response = client_for(nurse).post(
        f"{API}/cd-registers/{register100.pk}/wastes/",
        {"waste_mg": "100", "whole_units": 1, "witness": second_nurse.username, "witness_password": PASSWORD},
    )
    assert response.status_code == 400
    assert response.json()["errors"]["quantity"] == [
        "No 100 mg diamorphine ampoules left in stock (balance 0): record the receipt first."
    ]


def test_correction_of_another_registers_entry_is_refused(
    client_for, nurse, second_nurse, register100, register30, stock
):
    other = stock(register30, 2)
    stock(register100, 2)
    response = client_for(nurse).post(
        f"{API}/cd-registers/{register100.pk}/corrections/",
        {
            "corrects": other.pk,
            "quantity": "-1",
            "reason": "Miscount",
            "witness": second_nurse.username,
            "witness_password": PASSWORD,
        },
    )
    assert response.status_code == 400
    assert "another register" in response.json()["errors"]["corrects"][0]


def test_entries_list_and_csv_export(client_for, nurse, register100, stock):
    stock(register100, 3)
    client = client_for(nurse)
    entries = client.get(f"{API}/cd-registers/{register100.pk}/entries/").json()["results"]
    assert [(e["sequence"], e["kind"], e["balance_after"]) for e in entries] == [(1, EntryKind.RECEIPT, "3.00")]
    assert entries[0]["supplier_or_patient"].startswith("Tees Hospital Pharmacy, Marton Road")
    response = client.get(f"{API}/cd-registers/{register100.pk}/export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:7] == ["Entry", "Date", "Supplier or patient", "Quantity", "Balance", "Staff", "Witness"]
    assert client.get(f"{API}/cd-registers/{register100.pk}/export/?format=csv").status_code == 200


def test_stock_check_opens_a_discrepancy_the_manager_closes(
    client_for, nurse, second_nurse, manager, register100, stock
):
    stock(register100, 5)
    response = client_for(nurse).post(
        f"{API}/cd-registers/{register100.pk}/stock-checks/",
        {"counted": "3", "witness": second_nurse.username, "witness_password": PASSWORD},
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["difference"], response.json()["computed_balance"]) == ("-2.00", "5.00")
    discrepancy_id = response.json()["discrepancy"]
    assert (
        client_for(nurse)
        .post(f"{API}/cd-discrepancies/{discrepancy_id}/close/", {"investigation_note": "x"})
        .status_code
        == 403
    )

    manager_client = client_for(manager)
    assert [d["id"] for d in manager_client.get(f"{API}/cd-discrepancies/?status=open").json()["results"]] == [
        discrepancy_id
    ]
    response = manager_client.post(f"{API}/cd-discrepancies/{discrepancy_id}/close/", {"investigation_note": ""})
    assert "investigation_note" in response.json()["errors"]
    response = manager_client.post(
        f"{API}/cd-discrepancies/{discrepancy_id}/close/", {"investigation_note": "Two ampoules broken, unrecorded."}
    )
    assert response.json()["status"] == "closed"
    assert manager_client.get(f"{API}/cd-discrepancies/?status=closed").json()["count"] == 1
    assert Discrepancy.objects.get().closed_by == manager


def test_outsider_does_not_see_discrepancies(client_for, other_nurse, nurse, second_nurse, register100, stock):
    stock(register100, 5)
    services.run_stock_check(
        register=register100, counted=4, checked_by=nurse, witness=second_nurse, witness_password=PASSWORD
    )
    assert client_for(other_nurse).get(f"{API}/cd-discrepancies/").json()["count"] == 0


def test_proposal_endpoint(client_for, nurse, register100, register30, stock):
    stock(register100, 5)
    stock(register30, 5)
    body = client_for(nurse).get(f"{API}/cd-proposals/", {"drug": "diamorphine_inj", "dose_mg": "160"}).json()
    assert body["possible"] is True
    assert [(p["register"], p["count"]) for p in body["picks"]] == [(register100.pk, "1.00"), (register30.pk, "2.00")]
    assert (body["waste_mg"], body["summary"]) == ("0.00", f"1 {X} 100 mg + 2 {X} 30 mg (160 mg, no waste)")
    response = client_for(nurse).get(f"{API}/cd-proposals/", {"drug": "diamorphine_inj", "dose_mg": "lots"})
    assert "dose_mg" in response.json()["errors"]
