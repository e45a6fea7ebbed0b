"""Staff of several clinics land on the clinic they last worked in, on the next sign-in too."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _working_in(client) -> str:
    page = client.get("/").content.decode()
    return page.split("You are working in <strong>", 1)[1].split("</strong>", 1)[0]


def test_a_prescriber_of_two_clinics_lands_on_the_one_she_last_worked_in(clinic, other_clinic):
    user = StaffFactory(username="pat.prescriber", roles=["prescriber"], clinics=[clinic, other_clinic])
    first = Client()
    first.force_login(user)
    default = _working_in(first)  # the first of her clinics, before she has chosen
    chosen = clinic if default == other_clinic.name else other_clinic

    first.post(reverse("switch-clinic"), {"clinic": chosen.pk, "next": "/"})
    first.post(reverse("logout"))

    again = Client()  # a new session, e.g. the next morning on another tablet
    user.refresh_from_db()
    again.force_login(user)
    assert _working_in(again) == chosen.name != default


def test_a_remembered_clinic_she_no_longer_works_in_is_not_used(clinic, other_clinic):
    user = StaffFactory(username="pat.prescriber", roles=["prescriber"], clinics=[clinic])
    user.last_clinic = other_clinic  # she left that clinic since
    user.save()
    client = Client()
    client.force_login(user)

    assert _working_in(client) == clinic.name
