# The dosing fixtures (a stocked cupboard, a patient with a prescription and today's slots).
from tests.dosing.conftest import (  # noqa: F401
    _fast_password_hashing,
    _stocked_cupboard,
    afternoon_slot,
    patient,
    prescription,
    slot,
)
