"""SPEC 5: every administration writes its controlled-drug register entries in the same transaction."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from cd_register.models import EntryKind, Register, RegisterEntry
from dosing.models import Administration, SlotStatus

from .conftest import check, check_and_dose, dose

pytestmark = pytest.mark.django_db


def diamorphine(clinic, strength):
    return Register.objects.get(clinic=clinic, drug="diamorphine_inj", strength_mg=Decimal(strength))


def test_a_dose_draws_the_least_waste_ampoules_and_records_them_against_the_administration(
    clinic, slot, nurse, second_nurse
):
    administration = check_and_dose(slot, nurse, second_nurse, dose_mg=Decimal("100"))

    entries = RegisterEntry.objects.filter(administration_ref=administration.pk)
    assert [(e.register.strength_mg, e.kind, e.quantity) for e in entries] == [
        (Decimal(100), EntryKind.ADMINISTRATION, Decimal(-1))
    ]
    assert entries[0].patient == slot.patient
    assert (entries[0].made_by, entries[0].witnessed_by) == (nurse, second_nurse)
    assert diamorphine(clinic, 100).balance == 1999


def test_a_part_used_ampoule_records_its_waste(clinic, slot, nurse, second_nurse):
    check(slot, nurse)
    only_hundreds = [diamorphine(clinic, 10), diamorphine(clinic, 30)]
    for register in only_hundreds:  # empty the small ampoules so 95 mg needs a 100 mg ampoule
        Register.objects.filter(pk=register.pk).update(balance=0)

    administration = dose(slot, nurse, second_nurse, dose_mg=Decimal("95"))

    entries = RegisterEntry.objects.filter(administration_ref=administration.pk).order_by("sequence")
    assert [(e.kind, e.quantity) for e in entries] == [
        (EntryKind.ADMINISTRATION, Decimal(-1)),
        (EntryKind.WASTE, Decimal(0)),  # the ampoule is already counted out; the waste is in mg
    ]
    assert entries[1].waste_mg == Decimal(5)


def test_no_stock_means_no_dose_and_nothing_half_recorded(clinic, slot, nurse, second_nurse):
    check(slot, nurse)
    Register.objects.filter(clinic=clinic, drug="diamorphine_inj").update(balance=0)
    entries_before = RegisterEntry.objects.count()

    with pytest.raises(ValidationError) as refused:
        dose(slot, nurse, second_nurse, dose_mg=Decimal("100"))

    assert "record the receipt first" in str(refused.value)
    assert not Administration.objects.filter(slot=slot).exists()
    assert RegisterEntry.objects.count() == entries_before
    slot.refresh_from_db()
    assert slot.status == SlotStatus.CHECKED


def test_a_refused_dose_leaves_no_register_entry(clinic, slot, nurse, second_nurse):
    check(slot, nurse)
    entries_before = RegisterEntry.objects.count()

    with pytest.raises(ValidationError):
        dose(slot, nurse, second_nurse, dose_mg=Decimal("500"))  # S4: above the prescription

    assert RegisterEntry.objects.count() == entries_before


def test_the_dose_page_shows_which_ampoules_the_register_will_draw(client_for, slot, nurse):
    check(slot, nurse)

    page = client_for(nurse).get(f"/dosing/slots/{slot.pk}/dose/")

    assert page.status_code == 200
    expected = "From the controlled-drug register: <strong>1 \u00d7 100 mg (100 mg, no waste)</strong>"
    assert expected in page.content.decode()


def test_dosing_staff_reach_the_prescriptions_from_the_patient_record(client, patient, nurse, keyworker):
    link = f'href="/dosing/patients/{patient.pk}/prescriptions/"'

    client.force_login(nurse)
    assert link in client.get(f"/patients/{patient.pk}/").content.decode()
    client.force_login(keyworker)
    assert link not in client.get(f"/patients/{patient.pk}/").content.decode()
