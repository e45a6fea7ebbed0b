"""Issue 11, hole 3: a witness locked after wrong PINs is told until when, through the dose API."""

import pytest
import time_machine

from dosing.models import Administration
from tests.factories.clinics import PASSWORD

from .conftest import MORNING, check

pytestmark = pytest.mark.django_db


def dose(client, slot, witness, secret):
    return client.post(
        f"/api/v1/dosing/slots/{slot.pk}/administration/",
        {
            "dose_mg": "100",
            "route": "iv",
            "injection_site": "left_arm",
            "witness": witness.pk,
            "witness_password": secret,
        },
        content_type="application/json",
    )


def test_after_five_wrong_witness_pins_the_api_says_locked_until_when_and_the_manager_is_told(
    client_for, slot, nurse, second_nurse, manager, settings
):
    with time_machine.travel(MORNING, tick=False):  # 09:00 in London on 18 November (UTC+0)
        check(slot, nurse)
        client = client_for(nurse)
        for _ in range(settings.WITNESS_PIN_MAX_FAILURES):
            assert dose(client, slot, second_nurse, "wrong").status_code == 400

        locked = dose(client, slot, second_nurse, PASSWORD)

        assert locked.status_code == 400
        assert locked["Content-Type"] == "application/problem+json"
        assert locked.json()["errors"]["witness_password"][0].startswith("Witness PIN: locked until 09:15")
        assert not Administration.objects.exists()
        home = client_for(manager).get("/").content.decode()
        assert "Witness PIN locked after wrong tries" in home and "locked until 09:15" in home
