"""Every page each role can reach from its navigation or its home page's work queues, at a portrait tablet and a
laptop size, with axe.

The demo service is the content (two clinics, patients, doses, a hold, registers, referrals,
partners), so the pages are walked as a newcomer would see them after `make run`. Each page
must answer 200, carry no serious or critical accessibility violation, and never scroll sideways.
"""

from io import StringIO
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.management import call_command

from dosing.models import Slot
from patients.models import Patient
from tests.factories.clinics import PASSWORD

from .test_seed_demo import DURING_THE_MORNING_SESSION

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"tablet-portrait": {"width": 768, "height": 1024}, "laptop": {"width": 1366, "height": 768}}
ROLES = ["nurse", "prescriber", "keyworker", "manager", "commissioner"]


def _nav_links(page) -> list[str]:
    """The navigation's links and the home page's work queues (each count links to the list it counts)."""
    page.goto("/")
    hrefs = page.eval_on_selector_all(
        "nav.main-nav a, .work-queue a", "links => links.map(a => a.getAttribute('href'))"
    )
    return [href for href in dict.fromkeys(hrefs) if href and urlsplit(href).path.startswith("/")]


def _walk(page, urls, assert_accessible, screenshot, label):
    problems = []
    for url in urls:
        answer = page.goto(url)
        if answer.status != 200:
            problems.append(f"{url}: {answer.status}")
            continue
        try:
            assert_accessible(page)
        except AssertionError as error:
            problems.append(str(error))
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1]:
            problems.append(f"{url}: scrolls sideways ({width[0]} px in a {width[1]} px window)")
        if label.endswith("tablet-portrait"):
            screenshot(page, f"walk-{label}-{url.strip('/').replace('/', '-') or 'home'}")
    return problems


@pytest.mark.timeout(900)  # one demo service, five roles, two sizes: about fifty pages, each checked by axe
@time_machine.travel(DURING_THE_MORNING_SESSION, tick=True)
def test_every_page_of_every_role_is_accessible_at_both_sizes(
    browser, live_server, sign_in, assert_accessible, screenshot
):
    call_command("seed_demo", allow_production=True, password=PASSWORD, stdout=StringIO())
    from clinics.models import User

    patient = Patient.objects.filter(clinic__code="mbro").order_by("pk").first()
    slot = Slot.objects.filter(clinic__code="mbro").order_by("pk").first()
    extra = {
        "nurse": [f"/patients/{patient.pk}/", f"/dosing/slots/{slot.pk}/", f"/dosing/patients/{patient.pk}/history/"],
        "prescriber": [f"/dosing/patients/{patient.pk}/prescriptions/"],
        "keyworker": [f"/patients/{patient.pk}/"],
    }
    problems = []
    for role in ROLES:
        user = User.objects.get(username=role)
        for size_name, viewport in SIZES.items():
            context = browser.new_context(viewport=viewport, base_url=live_server.url, locale="en-GB")
            page = context.new_page()
            sign_in(page, user)
            urls = ["/", *_nav_links(page), *extra.get(role, [])]
            problems += _walk(page, urls, assert_accessible, screenshot, f"{role}-{size_name}")
            context.close()
    assert not problems, "\n".join(problems)
