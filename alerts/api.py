"""The partner API for drug alerts, under /api/v1/partner/alerts/. Thin: services and selectors decide.

GET (scope alerts:read): the feed of the clinic the API client was issued for: published, expired
and withdrawn alerts, oldest change first, paged by keyset like the partner referral list.
POST (scope alerts:write, public-health and police partners): submit an alert for staff to review.
"""

from django.core.exceptions import ValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from clinics.idempotency import IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENCY_RESPONSES, idempotent
from partners.api import PARTNER_ERROR_RESPONSES, ProblemSerializer
from partners.api_auth import PartnerAPIView, RequiresScope

from . import services
from .models import Severity
from .selectors import FEED_MAX_PAGE_SIZE, FEED_PAGE_SIZE, feed_page, partner_feed

READ, WRITE = "alerts:read", "alerts:write"
TAGS = ["partner"]
FEED_STATUSES = [("published", "Published"), ("expired", "Expired"), ("withdrawn", "Withdrawn")]

ALERT_EXAMPLE = {
    "id": 12,
    "clinic": "Middlesbrough HAT Clinic",
    "substance": "Heroin with nitazenes",
    "what_seen": "Blue-speckled brown powder sold as heroin",
    "area": "Middlesbrough town centre",
    "severity": "critical",
    "advice": "Do not use alone; carry naloxone; try a small amount first.",
    "valid_until": "2026-12-20T18:00:00Z",
    "status": "published",
    "withdrawn_reason": "",
    "version": 1,
    "updated_at": "2026-12-06T09:15:00Z",
}


def _problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(ProblemSerializer, description=description)


def flatten_errors(errors) -> dict[str, list[str]]:
    return {name: [str(message) for message in messages] for name, messages in errors.items()}


class PartnerAlertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    clinic = serializers.CharField(help_text="The clinic that published the alert.")
    substance = serializers.CharField()
    what_seen = serializers.CharField(allow_blank=True)
    area = serializers.CharField(allow_blank=True)
    severity = serializers.ChoiceField(choices=Severity.choices)
    advice = serializers.CharField(allow_blank=True)
    valid_until = serializers.DateTimeField()
    status = serializers.ChoiceField(
        choices=FEED_STATUSES, help_text="published (in force), expired (past valid_until) or withdrawn."
    )
    withdrawn_reason = serializers.CharField(allow_blank=True)
    version = serializers.IntegerField(help_text="Grows with every published change (correction, withdrawal).")
    updated_at = serializers.DateTimeField()


class PartnerAlertPageSerializer(serializers.Serializer):
    results = PartnerAlertSerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for the next page; null on the last."
    )


class FeedQuerySerializer(serializers.Serializer):
    updated_since = serializers.DateTimeField(required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=FEED_MAX_PAGE_SIZE, default=FEED_PAGE_SIZE
    )


FEED_PARAMETERS = [
    OpenApiParameter(
        "updated_since",
        OpenApiTypes.DATETIME,
        description="ISO 8601 date and time: only alerts changed at or after it (malformed: 400).",
    ),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="`next_cursor` from the previous page."),
    OpenApiParameter(
        "page_size", OpenApiTypes.INT, description=f"1 to {FEED_MAX_PAGE_SIZE}; default {FEED_PAGE_SIZE}."
    ),
]


class AlertSubmissionSerializer(serializers.Serializer):
    substance = serializers.CharField(max_length=120, allow_blank=True, help_text="Required: what the drug is.")
    what_seen = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    area = serializers.CharField(required=False, allow_blank=True, max_length=160)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    advice = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    valid_until = serializers.DateTimeField(help_text="ISO 8601 with an offset; in the future.")


class AlertReceiptSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Our number for the alert: quote it when you call the clinic.")
    clinic = serializers.CharField()
    status = serializers.CharField(help_text="Always 'submitted': staff review it before it is published.")


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ValidationError(flatten_errors(serializer.errors))
    return serializer.validated_data


class PartnerAlertsView(PartnerAPIView):
    def get_permissions(self):
        return [RequiresScope(READ if self.request.method == "GET" else WRITE)]

    def check_replay_access(self, request, stored_body) -> None:
        """The receipt names no one (our number, the clinic, a status); token and scope were checked already."""

    @extend_schema(
        operation_id="partner_alerts_list",
        tags=TAGS,
        summary="Drug early-warning alerts",
        description=(
            "The drug alerts of the clinic your API client was issued for, oldest change first, ordered by "
            "(updated_at, id). Withdrawn and expired alerts stay in the feed, marked in `status`. To keep in "
            "sync, remember the `updated_at` of the last alert you saw and ask with `updated_since` next time. "
            "Needs the scope alerts:read."
        ),
        parameters=FEED_PARAMETERS,
        responses={200: PartnerAlertPageSerializer, 400: _problem("A filter is malformed."), **PARTNER_ERROR_RESPONSES},
        examples=[
            OpenApiExample("A page", value={"results": [ALERT_EXAMPLE], "next_cursor": None}, response_only=True)
        ],
    )
    def get(self, request):
        query = _valid(FeedQuerySerializer, request.query_params)
        rows, next_cursor = feed_page(
            partner_feed(request.partner_client.clinic_id),
            updated_since=query.get("updated_since"),
            cursor=query.get("cursor"),
            page_size=query["page_size"],
        )
        now = timezone.now()
        results = [services.alert_payload(alert, now=now) for alert in rows]
        return Response(PartnerAlertPageSerializer({"results": results, "next_cursor": next_cursor}).data)

    @extend_schema(
        operation_id="partner_alerts_submit",
        tags=TAGS,
        summary="Submit a drug alert (public-health and police partners)",
        description=(
            "Sends an alert to the clinic your API client was issued for. Staff review it, then publish it "
            "(you receive alert.published like every partner) or decline it. Needs the scope alerts:write; "
            "only public-health and police partners may submit (others: 403)."
        ),
        request=AlertSubmissionSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: AlertReceiptSerializer,
            400: _problem("Invalid input (no substance, an expiry in the past...); `errors` names the field."),
            **PARTNER_ERROR_RESPONSES,
            **IDEMPOTENCY_RESPONSES,
        },
        examples=[
            OpenApiExample(
                "Nitazenes",
                value={
                    "substance": "Heroin with nitazenes",
                    "what_seen": "Blue-speckled brown powder",
                    "area": "Middlesbrough town centre",
                    "severity": "critical",
                    "advice": "Do not use alone; carry naloxone.",
                    "valid_until": "2026-12-20T18:00:00Z",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Received",
                value={"id": 12, "clinic": "Middlesbrough HAT Clinic", "status": "submitted"},
                response_only=True,
            ),
        ],
    )
    @idempotent
    def post(self, request):
        data = _valid(AlertSubmissionSerializer, request.data)
        clinic = request.partner_client.clinic
        alert = services.partner_submit_alert(partner=request.partner, clinic=clinic, **data)
        receipt = {"id": alert.pk, "clinic": clinic.name, "status": alert.status}
        return Response(AlertReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)
