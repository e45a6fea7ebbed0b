"""factory_boy factories, one module per app; import them from here."""

from .clinics import ClinicFactory, StaffFactory
from .patients import PartnerFactory, PatientFactory

__all__ = ["ClinicFactory", "PartnerFactory", "PatientFactory", "StaffFactory"]
