"""Staff API for onward referrals (session authentication): what the keyworker's pages do, for scripts and apps.

Scoped to the user's clinics (another clinic's referral: 404). Reads carry an ETag; changes
accept If-Match (412 when stale) and every POST honours Idempotency-Key.
"""

import datetime as dt

import django_filters
from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from clinics.idempotency import IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENCY_RESPONSES, idempotent
from deliveries.models import DeliveryAttempt, MessageStatus, OutboxMessage
from deliveries.services import resend as resend_message
from partners.models import PartnerOrganisation
from patients.models import ContactRoute
from patients.selectors import patients_for
from referrals.api import PROBLEMS, ReferralProblemSerializer, valid_data

from . import services
from .api_common import ETAG_HEADER, IF_MATCH_OPTIONAL, PreconditionFailed, expected_version, with_etag
from .models import NeedKind, OnwardOutcome, OnwardReferral, OnwardReferralEvent, OnwardStatus
from .selectors import (
    can_handle_onward_referrals,
    can_see_onward_referrals,
    deliveries_of,
    onward_referrals_for,
)

TAGS = ["onward referrals"]
CHANGE_PROBLEMS = {
    **PROBLEMS,
    412: OpenApiResponse(ReferralProblemSerializer, description="If-Match is not the current ETag."),
    **IDEMPOTENCY_RESPONSES,
}


class OnwardEventSerializer(serializers.ModelSerializer):
    by = serializers.SerializerMethodField()
    by_partner = serializers.SerializerMethodField()

    class Meta:
        model = OnwardReferralEvent
        fields = ["at", "kind", "from_status", "to_status", "appointment_at", "outcome", "text", "by", "by_partner"]

    def get_by(self, event) -> str:
        return event.by_label

    def get_by_partner(self, event) -> bool:
        return event.by_partner_id is not None


class OnwardReferralSerializer(serializers.ModelSerializer):
    partner_name = serializers.CharField(source="partner.name", read_only=True)

    class Meta:
        model = OnwardReferral
        fields = [
            "id",
            "reference",
            "patient",
            "clinic",
            "partner",
            "partner_name",
            "need_kind",
            "need",
            "contact_route",
            "status",
            "appointment_at",
            "outcome",
            "outcome_notes",
            "cancel_reason",
            "created_by",
            "created_at",
            "acknowledged_at",
            "finished_at",
            "updated_at",
            "version",
        ]


class OnwardReferralCreateSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    partner = serializers.IntegerField()
    need_kind = serializers.ChoiceField(choices=NeedKind.choices)
    need = serializers.CharField(max_length=2000)
    contact_route = serializers.ChoiceField(choices=ContactRoute.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[c for c in OnwardStatus.choices if c[0] != OnwardStatus.SENT])
    appointment_at = serializers.DateTimeField(required=False, help_text="For appointment_booked.")
    outcome = serializers.ChoiceField(choices=OnwardOutcome.choices, required=False, help_text="For closed.")
    notes = serializers.CharField(required=False, allow_blank=True, max_length=4000, help_text="For closed.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=4000, help_text="For cancelled.")


class StaffNoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["channel", "started_at", "duration_ms", "ok", "status_code", "error"]


class DeliverySerializer(serializers.ModelSerializer):
    attempts = DeliveryAttemptSerializer(many=True, source="delivery_attempts")
    to_partner = serializers.SerializerMethodField()

    class Meta:
        model = OutboxMessage
        fields = [
            "id",
            "kind",
            "subject",
            "status",
            "to_partner",
            "due_at",
            "sent_at",
            "failed_at",
            "cancelled_at",
            "cancel_reason",
            "last_error",
            "attempts",
        ]

    def get_to_partner(self, message) -> bool:
        return message.partner_id is not None


class OnwardReferralFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OnwardStatus.choices)
    updated_since = django_filters.IsoDateTimeFilter(method="filter_updated_since")

    class Meta:
        model = OnwardReferral
        fields = ["patient", "status", "updated_since"]

    def filter_updated_since(self, queryset, name, value):
        # In UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 (and Python) allow.
        return queryset.filter(updated_at__gte=value.astimezone(dt.UTC))


class HandlesOnwardReferrals(permissions.BasePermission):
    message = "Onward referrals are for keyworkers (clinic managers may read them)."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return can_see_onward_referrals(request.user)
        return can_handle_onward_referrals(request.user)


def _service_call(function, **kwargs):
    try:
        return function(**kwargs)
    except services.VersionMismatch:
        raise PreconditionFailed() from None
    except OnwardReferral.DoesNotExist:
        raise Http404("No such onward referral in your clinics.") from None


@extend_schema_view(
    list=extend_schema(
        tags=TAGS,
        summary="Onward referrals of your clinics",
        responses={200: OnwardReferralSerializer, 403: PROBLEMS[403]},
    ),
    retrieve=extend_schema(
        tags=TAGS,
        summary="One onward referral",
        parameters=[ETAG_HEADER],
        responses={200: OnwardReferralSerializer, 403: PROBLEMS[403], 404: PROBLEMS[404]},
    ),
)
class OnwardReferralViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Onward referrals to partner agencies: make, follow up, close; timeline and reminders."""

    permission_classes = [permissions.IsAuthenticated, HandlesOnwardReferrals]
    filterset_class = OnwardReferralFilter
    serializer_class = OnwardReferralSerializer
    queryset = OnwardReferral.objects.none()  # for the schema; requests start from the user's clinics

    def get_queryset(self):
        return onward_referrals_for(self.request.user).select_related("partner").order_by("-created_at", "-pk")

    def retrieve(self, request, *args, **kwargs):
        referral = self.get_object()
        return with_etag(Response(OnwardReferralSerializer(referral).data), referral)

    def check_replay_access(self, request, stored_body, pk=None, **kwargs) -> None:
        """An Idempotency-Key replay shows a referral: only while it is still one of this user's (404 if not)."""
        if pk is not None:
            self.get_object()
        elif not self.get_queryset().filter(pk=(stored_body or {}).get("id")).exists():
            raise Http404("No such onward referral in your clinics.")

    def _detail(self, referral, status_code=status.HTTP_200_OK) -> Response:
        referral = self.get_queryset().get(pk=referral.pk)
        return with_etag(Response(OnwardReferralSerializer(referral).data, status=status_code), referral)

    @extend_schema(
        tags=TAGS,
        summary="Refer a patient to a partner",
        description="Needs the patient's live data-sharing consent with that partner.",
        request=OnwardReferralCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER, ETAG_HEADER],
        responses={201: OnwardReferralSerializer, **PROBLEMS, **IDEMPOTENCY_RESPONSES},
        examples=[
            OpenApiExample(
                "Housing",
                value={
                    "patient": 12,
                    "partner": 3,
                    "need_kind": "housing",
                    "need": "Needs a tenancy: sofa-surfing since September.",
                    "contact_route": "phone",
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def create(self, request):
        data = dict(valid_data(OnwardReferralCreateSerializer, request.data))
        patient = patients_for(request.user).filter(pk=data.pop("patient")).first()
        if patient is None:
            raise ValidationError({"patient": "No such patient in your clinics."})
        partner = PartnerOrganisation.objects.filter(pk=data.pop("partner"), clinics=patient.clinic_id).first()
        if partner is None:
            raise ValidationError({"partner": "No such partner of the patient's clinic."})
        referral = services.onward_referral_create(patient=patient, partner=partner, created_by=request.user, **data)
        return self._detail(referral, status.HTTP_201_CREATED)

    @extend_schema(
        tags=TAGS,
        summary="Change the status (acknowledged, appointment_booked, attended, did_not_attend, closed, cancelled)",
        request=StatusChangeSerializer,
        parameters=[IF_MATCH_OPTIONAL, IDEMPOTENCY_KEY_PARAMETER, ETAG_HEADER],
        responses={200: OnwardReferralSerializer, **CHANGE_PROBLEMS},
        examples=[
            OpenApiExample("Close", value={"status": "closed", "outcome": "need_met"}, request_only=True),
        ],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    @idempotent
    def status(self, request, pk=None):
        referral = self.get_object()
        data = valid_data(StatusChangeSerializer, request.data)
        version = expected_version(request, referral, required=False)
        referral = _service_call(
            services.onward_referral_change_status,
            referral=referral,
            by=request.user,
            expected_version=version,
            **data,
        )
        return self._detail(referral)

    @extend_schema(
        tags=TAGS,
        summary="Add a note to the timeline",
        request=StaffNoteSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: OnwardEventSerializer, **CHANGE_PROBLEMS},
        examples=[OpenApiExample("A note", value={"text": "Phoned the partner."}, request_only=True)],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    @idempotent
    def notes(self, request, pk=None):
        referral = self.get_object()
        data = valid_data(StaffNoteSerializer, request.data)
        event = _service_call(services.onward_referral_add_note, referral=referral, by=request.user, **data)
        return Response(OnwardEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=TAGS,
        summary="The timeline: every change and note, by staff or by the partner",
        responses={200: OnwardEventSerializer(many=True), 403: PROBLEMS[403], 404: PROBLEMS[404]},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def timeline(self, request, pk=None):
        referral = self.get_object()
        events = referral.events.select_related("by_user", "by_partner").order_by("at", "pk")
        return Response(OnwardEventSerializer(events, many=True).data)

    @extend_schema(
        tags=TAGS,
        summary="Reminders about this referral and each delivery attempt",
        responses={200: DeliverySerializer(many=True), 403: PROBLEMS[403], 404: PROBLEMS[404]},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def deliveries(self, request, pk=None):
        return Response(DeliverySerializer(deliveries_of(self.get_object()), many=True).data)

    @extend_schema(
        tags=TAGS,
        summary="Send a failed reminder again",
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: DeliverySerializer, **PROBLEMS, **IDEMPOTENCY_RESPONSES},
    )
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<message_id>[0-9]+)/resend", filter_backends=[])
    @idempotent
    def resend(self, request, pk=None, message_id=None):
        referral = self.get_object()
        message = deliveries_of(referral).filter(pk=message_id).first()
        if message is None:
            raise Http404("No such delivery for this referral.")
        if message.status != MessageStatus.FAILED:
            raise ValidationError({"status": "Only a failed delivery can be sent again."})
        message = resend_message(message=message, resent_by=request.user)
        return Response(DeliverySerializer(deliveries_of(referral).get(pk=message.pk)).data)
