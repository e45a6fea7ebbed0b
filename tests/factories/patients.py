import datetime

import factory

from partners.models import PartnerKind, PartnerOrganisation
from patients.models import ContactRoute, Episode, Patient


class PartnerFactory(factory.django.DjangoModelFactory):
    """A partner agency: PartnerFactory(clinics=[clinic])."""

    class Meta:
        model = PartnerOrganisation
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Partner agency {n}")
    kind = PartnerKind.HOUSING
    contact_email = factory.LazyAttribute(lambda p: f"team{p.name.split()[-1]}@partner.invalid")

    @factory.post_generation
    def clinics(self, create, extracted, **kwargs):
        if create and extracted:
            self.clinics.set(extracted)


class PatientFactory(factory.django.DjangoModelFactory):
    """A patient in treatment, with an open episode: PatientFactory(clinic=clinic)."""

    class Meta:
        model = Patient
        skip_postgeneration_save = True

    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=22, maximum_age=65)
    contact_route = ContactRoute.AT_CLINIC

    @factory.post_generation
    def episode(self, create, extracted, **kwargs):
        if create and extracted is not False:
            started_on = kwargs.get("started_on", datetime.date(2026, 1, 5))
            Episode.objects.create(patient=self, clinic=self.clinic, started_on=started_on)
