"""PostgreSQL restarting under a running app (issue 13.3): a clear 503, and recovery without a restart.

A failover or a restart for an upgrade drops every open connection. Django then gets a fresh one by
itself: CONN_HEALTH_CHECKS checks a kept connection before the first query of each request. This
middleware handles the requests that were in flight when the connections dropped:

- a read (GET, HEAD, OPTIONS) that wrote nothing is tried again, at most RETRIES more times, a
  moment apart: a page read twice is the same page;
- anything else is NEVER repeated (a dose recorded twice is a double dose). It answers 503 with
  "The database is restarting; nothing was recorded; try again" (a page, or problem+json for the
  API) when no transaction of the request committed, which the middleware knows because it watches
  the request's writes commit. If one did commit before the connection dropped, it says so instead.

It must be the outermost middleware: it sees each inner middleware's and the view's failure as the
500 response Django made of it, marked by the got_request_exception signal below.
"""

import logging
import re
import sys
import time
from contextlib import ExitStack, suppress

from django.core.signals import got_request_exception
from django.db import DatabaseError, InterfaceError, OperationalError, connections, transaction
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger("health.database")

RETRIES = 2
RETRY_PAUSE_SECONDS = 0.25
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
READ_ONLY_SQL = re.compile(r"\s*(SELECT|SAVEPOINT|RELEASE|ROLLBACK|SET|SHOW|BEGIN|COMMIT|DECLARE|FETCH)\b", re.I)
# Bookkeeping a request writes on the side, never part of what was sent, so it does not make a 503 say
# "part may have been saved": the session row (renewed, cycled at sign-in), and on the user's row only the
# witness-PIN guess counter (committed before the dose, clinics.services._settle_guess) and the
# sign-in/clinic-choice markers. Any other write, or an UPDATE of the user touching any other column, counts.
SESSION_SQL = re.compile(r'\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"django_session"\s', re.I)
USER_UPDATE_SQL = re.compile(r'\s*UPDATE\s+"clinics_user"\s+SET\s+(?P<assignments>.*?)\s+WHERE\s', re.I | re.S)
ASSIGNED_COLUMN = re.compile(r'(?:^|,)\s*"(\w+)"\s*=')
BOOKKEEPING_USER_COLUMNS = frozenset(
    {"witness_pin_failures", "witness_pin_locked_until", "last_login", "last_clinic_id"}
)

RESTARTING = "The database is restarting"
NOTHING_RECORDED = f"{RESTARTING}; nothing was recorded; try again."
SOMETHING_RECORDED = (
    f"{RESTARTING}. Part of what you sent may have been saved before it stopped: "
    "look at the record before you try again."
)
READ_FAILED = f"{RESTARTING}; try again in a moment."


def is_database_unavailable(exc: BaseException | None) -> bool:
    """True for a lost or refused connection; False for errors a restart does not cause (deadlock, lock wait)."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    # No SQLSTATE: the server never answered (refused, reset, closed). 08: connection exception;
    # 57P01-57P03: admin shutdown, crash shutdown, cannot connect now (starting up or shutting down).
    return sqlstate is None or sqlstate.startswith(("08", "57P"))


@receiver(got_request_exception)
def _note_database_failure(sender, request=None, **kwargs) -> None:
    exc = sys.exc_info()[1]
    if request is not None and is_database_unavailable(exc):
        request._database_failure = exc


class _Writes:
    """Whether any write of this request has committed: autocommitted, or its transaction committed."""

    def __init__(self):
        self.committed = False

    def mark_committed(self) -> None:
        self.committed = True

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not READ_ONLY_SQL.match(sql) and not is_bookkeeping(sql):
            connection = context["connection"]
            if not connection.in_atomic_block:
                self.committed = True
            elif not any(callback == self.mark_committed for _, callback, _ in connection.run_on_commit):
                transaction.on_commit(self.mark_committed, using=connection.alias, robust=True)
        return result


def is_bookkeeping(sql: str) -> bool:
    """True for a write that keeps the session or the user's sign-in/witness-PIN counters, not the submission."""
    if SESSION_SQL.match(sql):
        return True
    update = USER_UPDATE_SQL.match(sql)
    if update is None:
        return False
    assignments = update["assignments"]
    columns = ASSIGNED_COLUMN.findall(assignments)
    # Every assignment must name a bookkeeping column (a comma inside a value would leave one unmatched).
    return bool(columns) and len(columns) == assignments.count(",") + 1 and set(columns) <= BOOKKEEPING_USER_COLUMNS


def _close_broken_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.in_atomic_block:
            with suppress(DatabaseError):  # already gone; Django opens a new one on the next query
                connection.close()


class DatabaseRestartMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        attempts = 1 + (RETRIES if request.method in SAFE_METHODS else 0)
        for attempt in range(attempts):
            request._database_failure = None
            writes = _Writes()
            with ExitStack() as stack:
                for connection in connections.all():
                    stack.enter_context(connection.execute_wrapper(writes))
                response = self.get_response(request)
            failure = request._database_failure
            if failure is None:
                return response
            _close_broken_connections()
            if attempt + 1 < attempts and not writes.committed:
                logger.warning("database unavailable (%s) during a read; trying again", failure.__class__.__name__)
                time.sleep(RETRY_PAUSE_SECONDS * (attempt + 1))
                continue
            return self._unavailable(request, committed=writes.committed)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _unavailable(request, *, committed: bool):
        if request.method in SAFE_METHODS:
            message = READ_FAILED
        else:
            message = SOMETHING_RECORDED if committed else NOTHING_RECORDED
        headers = {"Retry-After": "5", "Cache-Control": "no-store"}
        if request.path.startswith(("/api/", "/o/")):
            body = {"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": message}
            return JsonResponse(body, status=503, content_type="application/problem+json", headers=headers)
        page = (
            '<!DOCTYPE html>\n<html lang="en-GB">\n<head><meta charset="utf-8">'
            "<title>The database is restarting · HAT Clinic</title></head>\n"
            f"<body>\n<main>\n<h1>{RESTARTING}</h1>\n<p>{message}</p>\n"
            '<p><a href="">Try again</a></p>\n</main>\n</body>\n</html>\n'
        )
        return HttpResponse(page, status=503, headers=headers)
