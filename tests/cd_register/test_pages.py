"""Register pages: who sees what, forms that refuse bad input naming the field, the printable register, CSV."""

import csv
import datetime
import io
import re

import pytest
from django.urls import reverse

from cd_register.models import Discrepancy, EntryKind, Register, RegisterEntry
from tests.factories import RegisterFactory
from tests.factories.clinics import PASSWORD

pytestmark = pytest.mark.django_db


def receipt_post(witness_user, **overrides):
    data = {
        "quantity": "10",
        "supplier_name": "Tees Hospital Pharmacy",
        "supplier_address": "Marton Road, Middlesbrough",
        "batch": "B42",
        "expires_on": "2030-01-31",
        "witness": witness_user.username,
        "witness_password": PASSWORD,
    }
    return {**data, **overrides}


def test_registers_list_shows_the_current_clinics_registers(client_for, nurse, register100, other_clinic):
    RegisterFactory(clinic=other_clinic, strength_mg=500)
    response = client_for(nurse).get(reverse("cd-register-list"))
    assert response.status_code == 200
    assert "Diamorphine 100 mg" in response.text
    assert "Diamorphine 500 mg" not in response.text
    assert "Open a new register" not in response.text  # managers only


def test_another_clinics_register_is_not_found(client_for, other_nurse, register100):
    client = client_for(other_nurse)
    for name in ("cd-register-detail", "cd-register-csv", "cd-register-waste", "cd-register-stock-check"):
        assert client.get(reverse(name, args=[register100.pk])).status_code == 404, name


def test_commissioners_and_keyworkers_see_no_register(client_for, commissioner, keyworker, register100):
    for user in (commissioner, keyworker):
        client = client_for(user)
        assert client.get(reverse("cd-register-list")).status_code == 403
        assert client.get(reverse("cd-register-detail", args=[register100.pk])).status_code == 403
        assert client.get(reverse("cd-discrepancy-list")).status_code == 403


def test_nurses_cannot_receive_stock_or_open_registers(client_for, nurse, manager, register100):
    client = client_for(nurse)
    assert client.get(reverse("cd-register-receipt", args=[register100.pk])).status_code == 403
    assert client.post(reverse("cd-register-receipt", args=[register100.pk]), receipt_post(manager)).status_code == 403
    assert client.get(reverse("cd-register-create")).status_code == 403
    assert not RegisterEntry.objects.exists()


def test_manager_opens_a_register(client_for, manager, clinic):
    client = client_for(manager)
    response = client.post(
        reverse("cd-register-create"), {"drug": "diamorphine_inj", "strength_mg": "40", "form": "ampoule"}
    )
    assert "is not supplied as 40 mg" in response.text
    response = client.post(
        reverse("cd-register-create"), {"drug": "diamorphine_inj", "strength_mg": "250", "form": "ampoule"}
    )
    register = Register.objects.get()
    assert response.status_code == 302
    assert (register.clinic, register.strength_mg, register.created_by) == (clinic, 250, manager)


def test_manager_records_a_receipt(client_for, manager, nurse, register100):
    response = client_for(manager).post(reverse("cd-register-receipt", args=[register100.pk]), receipt_post(nurse))
    assert response.status_code == 302
    entry = RegisterEntry.objects.get()
    assert (entry.kind, entry.quantity, entry.batch, entry.made_by, entry.witnessed_by) == (
        EntryKind.RECEIPT,
        10,
        "B42",
        manager,
        nurse,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"quantity": "0"}, "Quantity: must be more than 0."),
        ({"supplier_name": ""}, "Supplier: this field is required."),
        ({"batch": ""}, "Batch number: this field is required."),
        ({"quantity": "x"}, "Quantity received (ampoules): enter a number."),
        ({"witness": "maggie.manager"}, "Witness: must be another member of staff, not the person recording."),
        ({"witness": "nobody"}, "Witness: no member of staff of this clinic has that username."),
        (
            {"witness_password": "guess"},
            "Witness PIN or password: not correct (too many wrong tries lock it for a while).",
        ),
    ],
)
def test_bad_receipt_is_refused_on_the_form(client_for, manager, nurse, register100, overrides, message):
    response = client_for(manager).post(
        reverse("cd-register-receipt", args=[register100.pk]), receipt_post(nurse, **overrides)
    )
    assert response.status_code == 200
    assert message in response.text
    assert "nothing has been saved yet" in response.text
    assert not RegisterEntry.objects.exists()


def test_nurse_records_waste_and_a_stock_check_with_a_discrepancy(client_for, nurse, second_nurse, register100, stock):
    stock(register100, 5)
    client = client_for(nurse)
    witness = {"witness": second_nurse.username, "witness_password": PASSWORD}
    response = client.post(
        reverse("cd-register-waste", args=[register100.pk]), {"waste_mg": "20", "whole_units": "0", **witness}
    )
    assert response.status_code == 302
    response = client.post(
        reverse("cd-register-stock-check", args=[register100.pk]), {"counted": "4", **witness}, follow=True
    )
    assert "Discrepancy: counted 4 ampoules, the register says 5 ampoules" in response.text
    assert Discrepancy.objects.get().stock_check.difference == -1
    # Nurses see discrepancies but only the manager closes them.
    assert client.get(reverse("cd-discrepancy-list")).status_code == 200
    discrepancy = Discrepancy.objects.get()
    assert client.get(reverse("cd-discrepancy-close", args=[discrepancy.pk])).status_code == 403


def test_manager_closes_a_discrepancy_which_stays_listed(client_for, manager, nurse, second_nurse, register100, stock):
    from cd_register import services

    stock(register100, 5)
    check = services.run_stock_check(
        register=register100, counted=6, checked_by=nurse, witness=second_nurse, witness_password=PASSWORD
    )
    client = client_for(manager)
    url = reverse("cd-discrepancy-close", args=[check.discrepancy.pk])
    assert "Investigation note" in client.post(url, {"investigation_note": ""}).text
    response = client.post(url, {"investigation_note": "Receipt of 1 ampoule was not entered."}, follow=True)
    assert "Discrepancy closed" in response.text
    assert "Receipt of 1 ampoule was not entered." in response.text
    assert "Closed" in response.text


def test_outsider_cannot_close_another_clinics_discrepancy(
    client_for, other_nurse, nurse, second_nurse, register100, stock
):
    from cd_register import services

    stock(register100, 5)
    check = services.run_stock_check(
        register=register100, counted=4, checked_by=nurse, witness=second_nurse, witness_password=PASSWORD
    )
    outsider_manager = client_for(other_nurse)
    assert outsider_manager.get(reverse("cd-discrepancy-close", args=[check.discrepancy.pk])).status_code == 404


def test_correction_form_points_at_an_entry_number_of_this_register(
    client_for, nurse, second_nurse, register100, stock
):
    stock(register100, 5)
    client = client_for(nurse)
    witness = {"witness": second_nurse.username, "witness_password": PASSWORD}
    url = reverse("cd-register-correction", args=[register100.pk])
    response = client.post(url, {"corrects": "7", "quantity": "-1", "reason": "Miscounted", **witness})
    assert "Entry corrected: this register has no entry 7." in response.text
    response = client.post(url, {"corrects": "1", "quantity": "-1", "reason": "Miscounted", **witness})
    assert response.status_code == 302
    correction = register100.entries.get(sequence=2)
    assert (correction.corrects.sequence, correction.balance_after) == (1, 4)


def test_register_page_in_statutory_column_order(client_for, nurse, second_nurse, register100, stock, patient):
    from cd_register import services

    stock(register100, 5)
    services.draw_for_administration(
        clinic=register100.clinic,
        drug="diamorphine",
        dose_mg=180,
        patient=patient,
        administration_ref=1,
        made_by=nurse,
        witness=second_nurse,
    )
    response = client_for(nurse).get(reverse("cd-register-detail", args=[register100.pk]))
    text = response.text
    table = text[text.index('class="table register-table"') :]
    headers = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', table[: table.index("</thead>")])
    assert headers == ["Entry", "Date", "Supplier or patient", "Quantity", "Balance", "Staff", "Witness"]
    assert "Receipt:</span> Tees Hospital Pharmacy" in text
    assert f"Administration:</span> {patient.given_name} {patient.family_name}" in text
    assert "Waste:</span> 20 mg wasted, dose of" in text
    assert "register.css" in text


def test_csv_export_has_the_same_columns(client_for, nurse, register100, stock):
    stock(register100, 5)
    response = client_for(nurse).get(reverse("cd-register-csv", args=[register100.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:7] == ["Entry", "Date", "Supplier or patient", "Quantity", "Balance", "Staff", "Witness"]
    assert rows[1][0] == "1" and rows[1][3] == "+5" and rows[1][4] == "5"
    assert rows[1][7] == "Receipt"


def test_csv_export_defuses_formulas(client_for, manager, nurse, register100):
    from cd_register import services

    services.record_receipt(
        register=register100,
        quantity=1,
        supplier_name='=HYPERLINK("x")',
        supplier_address="a",
        batch="b",
        expires_on=datetime.date(2030, 1, 1),
        made_by=manager,
        witness=nurse,
        witness_password=PASSWORD,
    )
    rows = list(
        csv.reader(
            io.StringIO(client_for(nurse).get(reverse("cd-register-csv", args=[register100.pk])).content.decode())
        )
    )
    assert rows[1][2].startswith("'=HYPERLINK")  # defused: a spreadsheet shows it as text


def test_register_page_query_count_does_not_grow_with_entries(
    client_for, nurse, register100, stock, django_assert_max_num_queries
):
    client = client_for(nurse)
    url = reverse("cd-register-detail", args=[register100.pk])
    stock(register100, 1)
    client.get(url)
    for _ in range(10):
        stock(register100, 1)
    with django_assert_max_num_queries(20):
        client.get(url)


def test_no_discrepancies_is_said_only_after_a_stock_check(
    client_for, manager, nurse, second_nurse, register100, stock
):
    stock(register100, 5)
    client = client_for(manager)

    before = client.get(reverse("cd-discrepancy-list")).text
    assert "No discrepancies" not in before and "No stock check has been recorded yet" in before

    witness = {"witness": second_nurse.username, "witness_password": PASSWORD}
    counted = client_for(nurse).post(
        reverse("cd-register-stock-check", args=[register100.pk]), {"counted": "5", **witness}
    )
    assert counted.status_code == 302
    assert (
        "No discrepancies: every stock check matched the register." in client.get(reverse("cd-discrepancy-list")).text
    )
