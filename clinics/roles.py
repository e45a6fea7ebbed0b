"""The five staff roles of SPEC section 2 and what each may do.

Roles are Django groups with exactly these names. Code never asks "is this a nurse?";
it asks for a capability (a permission on the Clinic model), which the groups grant,
so a user holding several roles gets the union.
"""

from django.db import models


class Role(models.TextChoices):
    NURSE = "nurse", "Nurse"
    PRESCRIBER = "prescriber", "Prescriber"
    KEYWORKER = "keyworker", "Keyworker"
    CLINIC_MANAGER = "clinic_manager", "Clinic manager"
    COMMISSIONER = "commissioner", "Commissioner"


class Capability(models.TextChoices):
    VIEW_PATIENTS = "view_patient_records", "See patient records of their clinics"
    RECORD_DOSES = "record_doses", "Run the dosing board: checks, doses, witnessing, observations"
    PRESCRIBE = "prescribe", "Create, change and stop prescriptions; clear holds; approve titration"
    HANDLE_REFERRALS = "handle_referrals", "Take referrals in, register patients, consents, TOP, onward referrals"
    SIGN_OFF_REFERRALS = "sign_off_referrals", "Accept or decline an assessed referral"
    MANAGE_CLINIC = "manage_clinic", "Clinic settings, staff, stock receipts, partners, access log"
    VIEW_STATISTICS = "view_statistics", "Aggregate statistics, never identifiers"
    # SPEC 2: the clinic manager sees everything in their clinic, read-only where they hold no other role.
    VIEW_BOARD = "view_dosing_board", "See the dosing board of their clinics"
    VIEW_REFERRALS = "view_referrals", "See the referral lists of their clinics"

    @property
    def perm(self) -> str:
        """The permission string for `user.has_perm()`."""
        return f"clinics.{self.value}"


# Kept in step with the data migrations that grant them (clinics/migrations/0002_roles.py).
ROLE_CAPABILITIES: dict[Role, set[Capability]] = {
    Role.NURSE: {Capability.VIEW_PATIENTS, Capability.RECORD_DOSES, Capability.VIEW_BOARD},
    Role.PRESCRIBER: {
        Capability.VIEW_PATIENTS,
        Capability.RECORD_DOSES,
        Capability.VIEW_BOARD,
        Capability.PRESCRIBE,
        Capability.SIGN_OFF_REFERRALS,
    },
    Role.KEYWORKER: {Capability.VIEW_PATIENTS, Capability.HANDLE_REFERRALS, Capability.VIEW_REFERRALS},
    Role.CLINIC_MANAGER: {
        Capability.VIEW_PATIENTS,
        Capability.MANAGE_CLINIC,
        Capability.VIEW_STATISTICS,
        Capability.VIEW_BOARD,
        Capability.VIEW_REFERRALS,
    },
    Role.COMMISSIONER: {Capability.VIEW_STATISTICS},
}
