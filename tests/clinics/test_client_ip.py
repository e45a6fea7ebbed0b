"""The client address django-axes locks on (clinics/client_ip.py), behind 0, 1 or 2 trusted proxies."""

import pytest
from django.test import RequestFactory

from clinics.client_ip import client_ip_address


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.2"),  # no trusted proxy: the header is the client's word, ignored
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # a forged entry on the left changes nothing
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.7", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.2"),  # fewer hops than proxies: only the socket's address is known
        (1, "not-an-address", "10.0.0.2"),
        (1, "", "10.0.0.2"),
    ],
)
def test_the_client_is_the_address_the_outermost_trusted_proxy_saw(settings, proxies, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)

    assert client_ip_address(request) == expected


def test_a_malformed_trusted_proxy_count_stops_start_up_naming_it():
    from tests.hat_clinic.test_settings import PRODUCTION_ENV, manage

    result = manage("check", env={**PRODUCTION_ENV, "TRUSTED_PROXY_COUNT": "one"})

    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT='one' is not a whole number" in result.stderr
