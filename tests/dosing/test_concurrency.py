"""S1 under real concurrency: N nurses submit the same slot at once on PostgreSQL."""

import threading

import pytest
from django.db import connection

from dosing.models import Administration, Slot, SlotStatus
from dosing.rules import RuleViolation
from tests.factories import StaffFactory

from .conftest import MORNING, at, check, dose

pytestmark = pytest.mark.django_db(transaction=True)

SUBMITTERS = 6


def test_simultaneous_submissions_for_one_slot_give_exactly_one_administration(slot, nurse, clinic):
    nurses = [nurse] + [StaffFactory(roles=["nurse"], clinics=[clinic]) for _ in range(SUBMITTERS - 1)]
    check(slot, nurse, now=MORNING)
    start = threading.Barrier(SUBMITTERS)
    outcomes: list[tuple[str, str]] = []
    lock = threading.Lock()

    def submit(index: int) -> None:
        me, witness = nurses[index], nurses[(index + 1) % SUBMITTERS]
        try:
            start.wait()
            given = dose(Slot.objects.get(pk=slot.pk), me, witness, now=at(MORNING.date(), 9, 5))
            result = ("given", str(given.dose_mg))
        except RuleViolation as refusal:
            result = ("refused", str(refusal))
        except Exception as error:  # anything else would be a 500: record it so the test shows it
            result = ("error", repr(error))
        finally:
            connection.close()  # each thread had its own connection
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=submit, args=(index,)) for index in range(SUBMITTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert Administration.objects.filter(slot=slot).count() == 1
    given = [outcome for outcome in outcomes if outcome[0] == "given"]
    refused = [outcome for outcome in outcomes if outcome[0] == "refused"]
    assert given == [("given", "100")], outcomes
    assert len(refused) == SUBMITTERS - 1, outcomes
    winner = Administration.objects.select_related("nurse").get(slot=slot).nurse
    for _, message in refused:
        assert message.startswith(f"S1 · Already given at 09:05 by {winner.get_full_name()}"), message
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.GIVEN
