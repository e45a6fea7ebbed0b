"""The partner API for diversion attendance confirmations, under /api/v1/partner/diversion/ (issue 16).

Police and probation partners with the scope diversion:read read, per contract and week, whether
the patient met the contract's engagement condition, sessions attended out of expected, the last
attendance date and whether the patient is still in treatment: nothing clinical. Every answer that
names a contract is written to the patient's access log. A contract the partner may not read
(another partner's, another clinic's, consent withdrawn, contract or episode ended) is 404.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from partners.api import PARTNER_ERROR_RESPONSES, ProblemSerializer
from partners.api_auth import PartnerAPIView, RequiresScope

from ..models import EngagementCondition
from .selectors import WeekOutsideContract, readable_contract, readable_contracts, week_summary
from .services import record_partner_read

READ = "diversion:read"
TAGS = ["partner"]
NOT_FOUND = "No such diversion contract for your organisation."

CONTRACT_EXAMPLE = {
    "reference": "DV-7F3K2Q",
    "partner_reference": "CP-2026-0412",
    "starts_on": "2026-11-02",
    "ends_on": "2027-02-28",
    "condition": "sessions_per_week",
    "condition_count": 8,
    "condition_text": "at least 8 sessions attended a week",
}
WEEK_EXAMPLE = {
    "contract": "DV-7F3K2Q",
    "partner_reference": "CP-2026-0412",
    "week_start": "2026-11-16",
    "week_end": "2026-11-22",
    "week_complete": True,
    "condition": "sessions_per_week",
    "condition_count": 8,
    "condition_text": "at least 8 sessions attended a week",
    "attended": True,
    "sessions_attended": 11,
    "sessions_expected": 14,
    "days_attended": 7,
    "last_attended_on": "2026-11-22",
    "in_treatment": True,
}


class DiversionContractSerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="Our reference for the contract, e.g. DV-7F3K2Q.")
    partner_reference = serializers.CharField(help_text="Your reference, as the keyworker recorded it.")
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    condition = serializers.ChoiceField(choices=EngagementCondition.choices)
    condition_count = serializers.IntegerField(help_text="N of the condition: sessions (1-21) or days (1-7) a week.")
    condition_text = serializers.CharField(help_text="The condition in words.")


class DiversionContractListSerializer(serializers.Serializer):
    results = DiversionContractSerializer(many=True)


class DiversionWeekSerializer(serializers.Serializer):
    contract = serializers.CharField(help_text="Our reference for the contract.")
    partner_reference = serializers.CharField()
    week_start = serializers.DateField(help_text="Monday (clinic-local).")
    week_end = serializers.DateField(help_text="Sunday (clinic-local).")
    week_complete = serializers.BooleanField(help_text="False while the week is still running: judged on days so far.")
    condition = serializers.ChoiceField(choices=EngagementCondition.choices)
    condition_count = serializers.IntegerField()
    condition_text = serializers.CharField()
    attended = serializers.BooleanField(help_text="Whether the engagement condition was met that week.")
    sessions_attended = serializers.IntegerField(
        help_text="Sessions attended; a day of an absence agreed with the clinic counts as attended."
    )
    sessions_expected = serializers.IntegerField(help_text="Sessions expected of the patient in the week's days.")
    days_attended = serializers.IntegerField(help_text="Days with a session attended (agreed absences included).")
    last_attended_on = serializers.DateField(
        allow_null=True, help_text="The last day attended since the contract started, up to the week's end."
    )
    in_treatment = serializers.BooleanField(help_text="Whether the person is still in treatment with the clinic.")


# Issue 16: exactly these fields, and nothing clinical (tests/onward/test_diversion_api.py walks every answer).
CONTRACT_FIELDS = frozenset(DiversionContractSerializer().fields)
WEEK_FIELDS = frozenset(DiversionWeekSerializer().fields)


def _contract_or_404(request, reference: str):
    contract = readable_contract(request.partner, reference, clinic_id=request.partner_client.clinic_id)
    if contract is None:
        raise Http404(NOT_FOUND)
    return contract


class DiversionView(PartnerAPIView):
    permission_classes = [RequiresScope(READ)]


class DiversionContractListView(DiversionView):
    @extend_schema(
        operation_id="partner_diversion_contracts_list",
        tags=TAGS,
        summary="Your diversion contracts",
        description=(
            "The diversion contracts with your organisation that you may read now: recorded by the clinic your "
            "API client was issued for, not ended, of a person still in treatment who consents to share with you. "
            "Police and probation partners only; needs the scope diversion:read. Each contract listed is written "
            "to the person's access log."
        ),
        responses={200: DiversionContractListSerializer, **PARTNER_ERROR_RESPONSES},
        examples=[OpenApiExample("Contracts", value={"results": [CONTRACT_EXAMPLE]}, response_only=True)],
    )
    def get(self, request):
        contracts = list(readable_contracts(request.partner, clinic_id=request.partner_client.clinic_id))
        for contract in contracts:
            record_partner_read(contract=contract)
        return Response(DiversionContractListSerializer({"results": contracts}).data)


class DiversionContractDetailView(DiversionView):
    @extend_schema(
        operation_id="partner_diversion_contracts_read",
        tags=TAGS,
        summary="One diversion contract",
        description="404 when the contract is not yours, or consent, the contract or the treatment has ended.",
        responses={
            200: DiversionContractSerializer,
            404: OpenApiResponse(ProblemSerializer),
            **PARTNER_ERROR_RESPONSES,
        },
        examples=[OpenApiExample("A contract", value=CONTRACT_EXAMPLE, response_only=True)],
    )
    def get(self, request, reference: str):
        contract = _contract_or_404(request, reference)
        record_partner_read(contract=contract)
        return Response(DiversionContractSerializer(contract).data)


class DiversionWeekView(DiversionView):
    @extend_schema(
        operation_id="partner_diversion_week_read",
        tags=TAGS,
        summary="Attendance of one week of a diversion contract",
        description=(
            "Whether the person met the contract's engagement condition in the week (Monday to Sunday, "
            "clinic-local) starting `week_start`, sessions attended out of expected, the last attendance date "
            "and whether they are still in treatment. Never doses, drugs, clinical detail or reasons for absence. "
            "400 when `week_start` is not a Monday, is outside the contract or has not started; 404 when the "
            "contract is not yours or consent, the contract or the treatment has ended."
        ),
        parameters=[
            OpenApiParameter(
                "week_start", OpenApiTypes.DATE, OpenApiParameter.PATH, description="A Monday, YYYY-MM-DD."
            )
        ],
        responses={
            200: DiversionWeekSerializer,
            400: OpenApiResponse(
                ProblemSerializer, description="`week_start` is malformed or not a week of the contract."
            ),
            404: OpenApiResponse(ProblemSerializer),
            **PARTNER_ERROR_RESPONSES,
        },
        examples=[OpenApiExample("A week", value=WEEK_EXAMPLE, response_only=True)],
    )
    def get(self, request, reference: str, week_start: str):
        contract = _contract_or_404(request, reference)
        try:
            monday = dt.date.fromisoformat(week_start) if len(week_start) == 10 else None
        except ValueError:
            monday = None
        if monday is None:
            raise ValidationError({"week_start": "week_start: a date as YYYY-MM-DD, a Monday."})
        try:
            summary = week_summary(contract, monday)
        except WeekOutsideContract as error:
            raise ValidationError({"week_start": f"week_start: {error}"}) from None
        record_partner_read(contract=contract)
        return Response(DiversionWeekSerializer(summary.as_payload()).data)
