"""dosing/demo.py: a full board at any time of day, safe to run twice."""

import io

import pytest
import time_machine

from dosing import demo
from dosing.models import Hold, Prescription
from dosing.selectors import Stage, board_for

from .conftest import TODAY, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed_args(clinic, other_clinic, nurse, second_nurse, prescriber, keyworker):
    return {
        "clinics": {"mbro": clinic, "darl": other_clinic},
        "staff": {"nurse": nurse, "nurse2": second_nurse, "prescriber": prescriber, "keyworker": keyworker},
        "stdout": io.StringIO(),
    }


@pytest.mark.parametrize("hour", [9, 13, 23])
def test_the_demo_board_is_full_at_any_time_and_seeding_twice_changes_nothing(seed_args, clinic, hour):
    with time_machine.travel(at(TODAY, hour, 30), tick=False):
        demo.seed(**seed_args)
        prescriptions, holds = Prescription.objects.count(), Hold.objects.count()
        demo.seed(**seed_args)
        board = board_for(clinic)

    assert (Prescription.objects.count(), Hold.objects.count()) == (prescriptions, holds)
    assert prescriptions == len(demo.DEMO_PATIENTS)
    assert holds == 1
    assert len(board.rows) == len(demo.DEMO_PATIENTS)
    stages = {row.stage for row in board.rows}
    assert Stage.ON_HOLD in stages
    if hour == 9:  # a session is running: rows in many states
        assert {Stage.UNDER_OBSERVATION, Stage.CHECKED, Stage.WITHHELD, Stage.REFUSED} <= stages
