# The dosing fixtures (a stocked cupboard when a test has a clinic, a patient with a prescription, today's
# slots); not its fast password hasher: gunicorn in these tests checks passwords with the production one.
from tests.dosing.conftest import _stocked_cupboard, afternoon_slot, patient, prescription, slot  # noqa: F401
