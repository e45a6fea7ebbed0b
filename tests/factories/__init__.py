"""factory_boy factories, one module per app; import them from here."""

from .cd_register import RegisterFactory, receive  # noqa: F401
from .clinics import ClinicFactory, StaffFactory
from .dosing import PrescriptionFactory, SlotFactory, TreatmentConsentFactory  # noqa: F401
from .partners import PartnerClientFactory
from .patients import PartnerFactory, PatientFactory
from .referrals import PreviousEpisodeFactory, ReferralFactory  # noqa: F401

__all__ = ["ClinicFactory", "PartnerClientFactory", "PartnerFactory", "PatientFactory", "StaffFactory"]
