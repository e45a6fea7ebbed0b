"""factory_boy factories, one module per app; import them from here."""

from .clinics import ClinicFactory, StaffFactory

__all__ = ["ClinicFactory", "StaffFactory"]
