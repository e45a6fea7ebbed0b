"""Dosing factories. They write rows directly (fast, any date); tests of the rules go through services."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory

from dosing.models import DosingSettings, Drug, PrescriberLicence, Prescription, Route, Session, Slot
from patients.models import ConsentDecision, ConsentEntry, ConsentKind

LONDON = ZoneInfo("Europe/London")


class TreatmentConsentFactory(factory.django.DjangoModelFactory):
    """TreatmentConsentFactory(patient=p, recorded_by=keyworker): treatment consent given on 1 Jan 2026."""

    class Meta:
        model = ConsentEntry

    kind = ConsentKind.TREATMENT
    decision = ConsentDecision.GIVEN
    effective_at = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=LONDON)


class PrescriptionFactory(factory.django.DjangoModelFactory):
    """PrescriptionFactory(patient=p, prescriber=u): injectable diamorphine IV, 100 mg twice a day."""

    class Meta:
        model = Prescription
        skip_postgeneration_save = True  # the licence hook writes its own row; the prescription is unchanged

    drug = Drug.DIAMORPHINE_INJECTABLE
    route = Route.INTRAVENOUS
    morning_dose_mg = Decimal("100")
    afternoon_dose_mg = Decimal("100")
    daily_max_mg = Decimal("300")
    starts_on = datetime.date(2026, 1, 5)
    signed_at = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=LONDON)

    @factory.post_generation
    def licensed(prescription, create, extracted, **kwargs):
        """S14: the prescriber holds a licence for the patient's clinic, unless `licensed=False`."""
        if create and extracted is not False:
            license_prescriber(prescription.prescriber, prescription.patient.clinic)


def license_prescriber(
    prescriber, clinic, *, valid_from=datetime.date(2020, 1, 1), valid_to=datetime.date(2099, 12, 31)
):
    """S14: give the prescriber a Home Office licence for the clinic (once)."""
    if not PrescriberLicence.objects.filter(prescriber=prescriber, clinic=clinic).exists():
        PrescriberLicence.objects.create(
            prescriber=prescriber, clinic=clinic, number=f"HO-{prescriber.pk}-{clinic.pk}", valid_from=valid_from,
            valid_to=valid_to, recorded_by=prescriber, recorded_at=datetime.datetime(2020, 1, 1, tzinfo=LONDON),
        )  # fmt: skip


class SlotFactory(factory.django.DjangoModelFactory):
    """SlotFactory(prescription=p, date=d, session="morning"): window from the clinic's settings."""

    class Meta:
        model = Slot

    patient = factory.LazyAttribute(lambda s: s.prescription.patient)
    clinic = factory.LazyAttribute(lambda s: s.prescription.patient.clinic)
    session = Session.MORNING
    window_start = factory.LazyAttribute(lambda s: DosingSettings.for_clinic(s.clinic).window(s.date, s.session)[0])
    window_end = factory.LazyAttribute(lambda s: DosingSettings.for_clinic(s.clinic).window(s.date, s.session)[1])
