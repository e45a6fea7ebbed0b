"""Schemathesis against /api/schema/ on the live server (issue 6, done-when 4; issue 11, done-when 5).

Every answer must be documented: no 5xx, a status code the schema lists for the operation, the
content type it lists for that status (errors are application/problem+json) and a body that
matches its schema. Six runs of the schemathesis CLI against pytest-django's live server: the
staff API with the session (and CSRF token) of a member of staff of each role, and the partner
API with a real OAuth2 bearer token. Small example counts (SCHEMATHESIS_MAX_EXAMPLES raises
them) keep the file to a few minutes; `--seed` makes a failure reproducible (the command is
printed, the full report lands in test-artifacts/).
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import PartnerClientFactory, PartnerFactory, PatientFactory, StaffFactory
from tests.factories.referrals import consent_to_share, make_onward_referral
from tests.onward.partner_http import get_token

# Each run is one schemathesis process of a few minutes on the 2-core machine: beyond pytest's usual 120 s.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(900)]

ST = Path(sys.executable).with_name("st")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
SEED = 20261121


@pytest.fixture(autouse=True)
def _no_throttling(settings, monkeypatch):
    """Hundreds of requests a minute: throttling would answer 429 before the code under test runs."""
    rates = {"user": "100000/minute", "partner": "100000/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def schemathesis(
    live_server, name: str, *options: str, headers: dict[str, str], max_examples: int
) -> subprocess.CompletedProcess:
    command = [
        str(ST),
        "run",
        f"{live_server.url}/api/schema/",
        "--url",
        live_server.url,
        "--checks",
        CHECKS,
        "--phases",
        "examples,fuzzing",
        "--max-examples",
        os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", str(max_examples)),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--no-color",
        "--warnings",
        "off",
        *options,
    ]
    for header, value in headers.items():
        command += ["-H", f"{header}: {value}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    shown = " ".join(part if not part.startswith(("Cookie", "Authorization", "X-CSRF")) else "…" for part in command)
    ARTIFACTS.mkdir(exist_ok=True)
    report = ARTIFACTS / f"schemathesis-{name}.txt"
    report.write_text(f"{shown}\n{result.stdout}\n{result.stderr}")
    print(f"Full report: {report}", result.stdout[-6000:], result.stderr[-2000:], sep="\n")
    return result


@pytest.fixture
def world(clinic, keyworker):
    """Something to find: a partner, a patient sharing with it and an onward referral."""
    partner = PartnerFactory(name="Thirteen Housing", kind="housing", clinics=[clinic])
    patient = PatientFactory(clinic=clinic, phone="07700 900123", contact_route="phone")
    consent_to_share(patient, partner, recorded_by=keyworker)
    make_onward_referral(patient=patient, partner=partner, created_by=keyworker)
    return partner


@pytest.mark.parametrize("role", ["nurse", "prescriber", "keyworker", "clinic_manager", "commissioner"])
def test_the_staff_api_conforms_to_its_schema(live_server, client, clinic, world, role):
    staff = StaffFactory(username=f"st.{role}", roles=[role], clinics=[clinic])
    client.force_login(staff)
    csrf = secrets.token_hex(16)  # 32 characters: a valid CSRF secret, sent as cookie and header
    headers = {"Cookie": f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}", "X-CSRFToken": csrf}

    result = schemathesis(
        live_server, f"staff-{role}", "--exclude-path-regex", "^/api/v1/partner/", headers=headers, max_examples=4
    )

    assert result.returncode == 0, "schemathesis found failures in the staff API (see the output above)"


def test_the_partner_api_conforms_to_its_schema(live_server, world):
    api_client = PartnerClientFactory(partner=world, scopes=["referrals:read", "referrals:write"])
    token = get_token(live_server, api_client)

    result = schemathesis(
        live_server,
        "partner",
        "--include-path-regex",
        "^/api/v1/partner/",
        headers={"Authorization": f"Bearer {token}"},
        max_examples=8,
    )

    assert result.returncode == 0, "schemathesis found failures in the partner API (see the output above)"


def test_the_diversion_partner_api_conforms_to_its_schema(live_server, clinic, keyworker):
    """Issue 16: the diversion endpoints of a police partner with a live contract to read."""
    import datetime as dt

    from onward.diversion.services import diversion_contract_record

    police = PartnerFactory(name="Cleveland Police Checkpoint", kind="police", clinics=[clinic])
    patient = PatientFactory(clinic=clinic)
    consent_to_share(patient, police, recorded_by=keyworker)
    today = dt.datetime.now(dt.UTC).date()
    diversion_contract_record(
        patient=patient, partner=police, partner_reference="CP-1", starts_on=today - dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=60), condition="sessions_per_week", condition_count=8, created_by=keyworker,
    )  # fmt: skip
    token = get_token(live_server, PartnerClientFactory(partner=police, scopes=["diversion:read"]))

    result = schemathesis(
        live_server,
        "partner-diversion",
        "--include-path-regex",
        "^/api/v1/partner/diversion/",
        headers={"Authorization": f"Bearer {token}"},
        max_examples=8,
    )

    assert result.returncode == 0, "schemathesis found failures in the diversion partner API (see the output above)"
