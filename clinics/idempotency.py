"""`Idempotency-Key` for API POSTs: a retried request gets the first answer, not a second change.

    class AcknowledgeView(PartnerAPIView):
        @extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER], responses={..., **IDEMPOTENCY_RESPONSES})
        @idempotent
        def post(self, request, reference): ...

Rules (after pretix's idempotency store and the IETF httpapi Idempotency-Key draft):
- The key is optional; without it a POST is handled as usual.
- Keys are scoped per caller: a partner client (`partner-client:<client id>`) or a member of
  staff (`user:<id>`). One caller's key never meets another's.
- Same key, same method, path and body (compared as canonical JSON): the first response is
  replayed, status, body, ETag and Location, with `Idempotent-Replayed: true`, but only after the
  view's `check_replay_access(request, stored_body, *args, **kwargs)` has checked that the
  caller may still see what the answer shows (it raises Http404, e.g. once a patient withdrew
  consent for the partner, or the member of staff left the clinic). Every idempotent view
  defines it, so a stored answer never outlives the access that produced it.
- Same key, another request: 422 problem details; nothing is done.
- Only a successful (2xx) answer is kept. A refusal (4xx) is rolled back with the key, so the
  caller may fix the request and retry with the same key.
- The key row is written in the same transaction as the change: both commit or neither does.
  A second request with the key while the first is still running waits on the first's row
  (PostgreSQL's unique index) and then replays its answer.
- Keys are forgotten after IDEMPOTENCY_KEY_TTL (24 h); `purge_expired_keys()` deletes them,
  and a key is purged lazily when its caller uses it again.
"""

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Headers of the first response that a replay repeats.
KEPT_HEADERS = ("ETag", "Location", "Content-Location")


def key_ttl() -> timedelta:
    return timedelta(seconds=getattr(settings, "IDEMPOTENCY_KEY_TTL", 24 * 3600))


class IdempotencyKeyReused(exceptions.APIException):
    status_code = 422
    default_detail = "This Idempotency-Key was already used for a different request. Use a new key for a new request."
    default_code = "idempotency_key_reused"


class IdempotencyKeyInUse(exceptions.APIException):
    status_code = 409
    default_detail = "A request with this Idempotency-Key is still being handled; retry in a moment."
    default_code = "idempotency_key_in_use"


class _ProblemSerializer(serializers.Serializer):
    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional, recommended: a unique value per request (e.g. a UUID), at most 255 characters. "
        "Sending the same request again with the same key returns the first answer without repeating "
        "the change (`Idempotent-Replayed: true`); the same key with another request body answers 422. "
        "Keys are kept for 24 hours, per API client."
    ),
)

IDEMPOTENCY_RESPONSES = {
    422: OpenApiResponse(_ProblemSerializer, description="The Idempotency-Key was already used for another request."),
}


def caller_scope(request) -> str | None:
    """Whose keys: the partner client, else the signed-in member of staff; None for anyone else."""
    client = getattr(request, "partner_client", None)
    if client is not None:
        return f"partner-client:{client.client_id}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _canonical(data):
    if isinstance(data, QueryDict):
        return {name: data.getlist(name) for name in sorted(data)}
    return data


def request_fingerprint(request) -> str:
    """The method, path and body, with the body compared as canonical JSON (key order and spacing ignored)."""
    body = json.dumps(_canonical(request.data), sort_keys=True, separators=(",", ":"), default=str)
    text = f"{request.method}\n{request.path}\n{body}"
    return hashlib.sha256(text.encode()).hexdigest()


def _check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise exceptions.ValidationError({HEADER: [f"Use 1 to {MAX_KEY_LENGTH} printable characters, e.g. a UUID."]})
    return key


def _replay(stored: IdempotencyKey) -> Response:
    headers = {name: value for name, value in (stored.response_headers or {}).items() if name in KEPT_HEADERS}
    headers["Idempotent-Replayed"] = "true"
    return Response(stored.response_body, status=stored.response_status, headers=headers)


def _claim(*, scope: str, key: str, request, fingerprint: str, now) -> tuple[IdempotencyKey, bool]:
    """(row, True) when this request claims the key; (first request's row, False) when it was used before."""
    IdempotencyKey.objects.filter(scope=scope, key=key, expires_at__lte=now).delete()
    existing = IdempotencyKey.objects.filter(scope=scope, key=key).first()
    if existing is not None:
        return existing, False
    row = IdempotencyKey(
        scope=scope,
        key=key,
        method=request.method,
        path=request.path[:500],
        fingerprint=fingerprint,
        response_status=0,  # being handled; never visible outside this transaction
        created_at=now,
        expires_at=now + key_ttl(),
    )
    try:
        with transaction.atomic():  # a savepoint: the clash must not spoil the caller's transaction
            row.save()
    except IntegrityError:
        # A concurrent request with the same key inserted first; PostgreSQL made us wait until it committed.
        existing = IdempotencyKey.objects.filter(scope=scope, key=key).first()
        if existing is None or existing.response_status == 0:
            raise IdempotencyKeyInUse() from None
        return existing, False
    return row, True


def idempotent(handler):
    """Decorate a DRF view method that answers a POST (see the module docstring)."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        raw_key = request.headers.get(HEADER)
        scope = caller_scope(request)
        if raw_key is None or scope is None:
            return handler(view, request, *args, **kwargs)
        check_access = getattr(view, "check_replay_access", None)
        if check_access is None:
            raise ImproperlyConfigured(
                f"{type(view).__name__} uses @idempotent without check_replay_access(): a replay must re-check access."
            )
        key = _check_key(raw_key)
        fingerprint = request_fingerprint(request)
        now = timezone.now()
        with transaction.atomic():
            row, claimed = _claim(scope=scope, key=key, request=request, fingerprint=fingerprint, now=now)
            if not claimed:
                if row.fingerprint != fingerprint:
                    raise IdempotencyKeyReused()
                # The first answer may show what the caller may no longer see: ask again (Http404 if not).
                check_access(request, row.response_body, *args, **kwargs)
                return _replay(row)
            response = handler(view, request, *args, **kwargs)  # an exception rolls the key back with the rest
            if not 200 <= response.status_code < 300:
                transaction.set_rollback(True)  # keep no refusal: the caller may fix it and retry
                return response
            row.response_status = response.status_code
            row.response_body = getattr(response, "data", None)
            row.response_headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
            row.save(update_fields=["response_status", "response_body", "response_headers"])
        return response

    return wrapper


def purge_expired_keys(*, now=None) -> int:
    """Forget keys past their time (a scheduled job may call this; keys are also purged when reused)."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
