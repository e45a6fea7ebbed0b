"""Posting a webhook without reaching the clinic's own network (issue 11, SSRF).

The address is checked when a manager saves it (partners/webhook_urls.py), but a name can point
elsewhere by the time a reminder goes out, so every connection resolves the name here, refuses
it when any of its addresses is inside (loopback, link-local, private, ...; see
partners.webhook_urls), and connects to the very address it checked: a second lookup that
answers differently (DNS rebinding) is never made. TLS still checks the certificate against the
name. Proxies from the environment are ignored, redirects are not followed.
"""

import socket

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

from partners.webhook_urls import UnsafeWebhookAddress, check_scheme, resolve_allowed


def _new_checked_conn(self) -> socket.socket:
    """urllib3's HTTPConnection._new_conn, connecting to the address `resolve_allowed` checked."""
    try:
        address = resolve_allowed(self.host, self.port)
    except socket.gaierror as error:
        raise NameResolutionError(self.host, self, error) from error
    try:
        return connection.create_connection(
            (address, self.port), self.timeout, source_address=self.source_address, socket_options=self.socket_options
        )
    except TimeoutError as error:
        raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from error
    except OSError as error:
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error


class _CheckedHTTPConnection(HTTPConnection):
    _new_conn = _new_checked_conn


class _CheckedHTTPSConnection(HTTPSConnection):
    _new_conn = _new_checked_conn


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}


def post_checked(url: str, *, data: bytes, headers: dict, timeout) -> requests.Response:
    """POST to a partner's webhook. Raises UnsafeWebhookAddress before any connection to the inside."""
    check_scheme(url)
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: we connect where we checked
        adapter = _CheckedAdapter(max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        response = session.post(url, data=data, headers=headers, timeout=timeout, allow_redirects=False, stream=True)
        response.close()
        return response


__all__ = ["UnsafeWebhookAddress", "post_checked"]
