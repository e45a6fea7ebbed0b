"""A signed-in member of staff and a partner's system over real HTTP, and the timing loop every measurement uses."""

import time
from collections.abc import Callable

import requests

from .report import Durations


class Staff:
    """A `requests` session signed in through the real login form (CSRF, django-axes and all)."""

    def __init__(self, base: str, username: str, password: str):
        self.base = base
        self.http = requests.Session()
        self.http.get(f"{base}/accounts/login/", timeout=10).raise_for_status()
        response = self.http.post(
            f"{base}/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": self.csrf},
            headers={"Referer": f"{base}/accounts/login/"},
            timeout=10,
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"sign-in of {username} failed with {response.status_code}")

    @classmethod
    def session_of(cls, base: str, user) -> "Staff":
        """Signed in without the login form: a session written straight into the database (the slow password
        hash of a sign-in, times hundreds of tablets, is not what a load test measures). Call after
        django.setup(), with the server's SECRET_KEY (bench.server.SECRET_KEY)."""
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore
        from django.middleware.csrf import _get_new_csrf_string

        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "clinics.backends.StaffBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        staff = cls.__new__(cls)
        staff.base = base
        staff.http = requests.Session()
        staff.http.cookies.set("sessionid", store.session_key)
        staff.http.cookies.set("csrftoken", _get_new_csrf_string())
        return staff

    @property
    def csrf(self) -> str:
        return self.http.cookies.get("csrftoken", "")

    def get(self, path: str, *, timeout: float = 10) -> requests.Response:
        return self.http.get(f"{self.base}{path}", timeout=timeout)

    def post_json(self, path: str, data: dict, *, timeout: float = 10) -> requests.Response:
        return self.http.post(
            f"{self.base}{path}",
            json=data,
            headers={"X-CSRFToken": self.csrf, "Referer": f"{self.base}/"},
            timeout=timeout,
        )


class Partner:
    """A partner's system: an access token from /o/token/ (OAuth2 client credentials), then Bearer requests."""

    def __init__(self, base: str, client_id: str, client_secret: str):
        self.base = base
        self.http = requests.Session()
        response = self.http.post(
            f"{base}/o/token/", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret), timeout=10
        )
        if response.status_code != 200:
            raise RuntimeError(f"the token endpoint answered {response.status_code}: {response.text[:300]}")
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str, params: dict | None = None) -> requests.Response:
        return self.http.get(f"{self.base}{path}", params=params, timeout=10)


def timed(requests_: int, warmup: int, send: Callable[[int], requests.Response], expect: int) -> Durations:
    """Call `send(i)` warmup + requests_ times; return the timed requests' durations in ms.

    The client's wall time for the whole request over the loopback interface, and the server's
    own time from its Server-Timing header. Any unexpected status stops the run.
    """
    durations = Durations()
    for index in range(warmup + requests_):
        started = time.perf_counter()
        response = send(index)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != expect:
            raise RuntimeError(f"request {index} answered {response.status_code}: {response.text[:300]}")
        if index >= warmup:
            durations.record(elapsed, response)
    return durations
