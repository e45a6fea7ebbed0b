"""What the partner API and the staff API for onward referrals share: ETags, If-Match, keyset pages, filters."""

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers

from clinics.cursors import decode_cursor, encode_cursor

from .models import OnwardReferral, OnwardStatus

ETAG_PATTERN = re.compile(r'^(?:W/)?"(?P<reference>[A-Z0-9-]+)\.v(?P<version>[0-9]+)"$')
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = (
        "Send the If-Match header with the ETag you last read for this referral, so that you do not "
        "overwrite a change you have not seen."
    )
    default_code = "precondition_required"


class PreconditionFailed(exceptions.APIException):
    status_code = 412
    default_detail = (
        "The referral has changed since you read it (your If-Match does not match its ETag). "
        "Read it again, check the change, then retry with the new ETag."
    )
    default_code = "precondition_failed"


def expected_version(request, referral: OnwardReferral, *, required: bool) -> int | None:
    """The version the caller says it changes (If-Match): 428 when required and missing, 412 when not this one.

    `*` means "whatever the current version is".
    """
    header = request.headers.get("If-Match", "").strip()
    if not header:
        if required:
            raise PreconditionRequired()
        return None
    if header == "*":
        return None
    for candidate in header.split(","):
        match = ETAG_PATTERN.match(candidate.strip())
        if match and match["reference"] == referral.reference:
            return int(match["version"])
    raise PreconditionFailed()


IF_MATCH_REQUIRED = OpenApiParameter(
    name="If-Match",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        'The ETag you last read for this referral, e.g. `"OR-7F3K2Q.v3"`. Missing: 428. '
        "Not the current one (someone changed the referral since): 412; read it again and retry."
    ),
)
IF_MATCH_OPTIONAL = OpenApiParameter(
    name="If-Match",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description='Optional: the ETag you last read, e.g. `"OR-7F3K2Q.v3"`; 412 when it is no longer current.',
)
ETAG_HEADER = OpenApiParameter(
    name="ETag",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    response=[200, 201],
    description='The referral\'s version, e.g. `"OR-7F3K2Q.v3"`: send it back as If-Match to change the referral.',
)


def with_etag(response, referral: OnwardReferral):
    response["ETag"] = referral.etag
    return response


class ListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OnwardStatus.choices, required=False, help_text="Only this status.")
    updated_since = serializers.DateTimeField(
        required=False,
        help_text="ISO 8601, e.g. 2026-11-20T09:00:00Z: only referrals changed at or after this moment.",
    )
    cursor = serializers.CharField(required=False, help_text="The `next_cursor` of the previous page.")
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE)


LIST_PARAMETERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=OnwardStatus.values, description="Only this status."),
    OpenApiParameter(
        "updated_since",
        OpenApiTypes.DATETIME,
        description="ISO 8601 date and time: only referrals changed at or after it (malformed: 400).",
    ),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="`next_cursor` from the previous page."),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        description=f"1 to {MAX_PAGE_SIZE}; default {PAGE_SIZE}.",
    ),
]


def list_query(request) -> dict:
    query = ListQuerySerializer(data=request.query_params)
    if not query.is_valid():
        raise ValidationError({name: [str(m) for m in messages] for name, messages in query.errors.items()})
    return query.validated_data


def keyset_page(referrals: QuerySet[OnwardReferral], query: dict) -> tuple[list[OnwardReferral], str | None]:
    """A page ordered by (updated_at, id): stable however the data changes; a changed referral moves to the end.

    A client syncing with `updated_since` and `next_cursor` sees every change exactly once per change.
    """
    if query.get("status"):
        referrals = referrals.filter(status=query["status"])
    if query.get("updated_since"):
        # In UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows.
        referrals = referrals.filter(updated_at__gte=query["updated_since"].astimezone(dt.UTC))
    if query.get("cursor"):
        moment, pk = decode_cursor(query["cursor"])
        referrals = referrals.filter(Q(updated_at__gt=moment) | Q(updated_at=moment, pk__gt=pk))
    size = query.get("page_size") or PAGE_SIZE
    rows = list(referrals.order_by("updated_at", "pk")[: size + 1])
    next_cursor = encode_cursor(rows[size - 1]) if len(rows) > size else None
    return rows[:size], next_cursor
