"""Partner API: endpoints called by partner agencies' systems with OAuth2 client-credentials tokens."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from .api_auth import PartnerAPIView, RequiresScope, partner_scopes
from .models import PartnerKind


class ProblemSerializer(serializers.Serializer):
    """An error as problem details (RFC 9457): `detail` says what went wrong in one sentence."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


# Every partner endpoint can answer these; later endpoints add 400/404/412/422 as they need.
PARTNER_ERROR_RESPONSES = {
    401: OpenApiResponse(
        ProblemSerializer,
        description="No access token, or one that is unknown, expired or revoked. Get a new one at /o/token/.",
    ),
    403: OpenApiResponse(ProblemSerializer, description="The access token lacks the scope this needs."),
    429: OpenApiResponse(
        ProblemSerializer, description="Too many requests from this client; try again after `Retry-After` seconds."
    ),
}


class PartnerMeSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Your organisation's id in the clinic's records.")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=PartnerKind.choices)
    scopes = serializers.ListField(child=serializers.CharField(), help_text="The scopes of this access token.")


class PartnerMeView(PartnerAPIView):
    """Who you are: your organisation and what your access token allows. A quick check of your credentials."""

    permission_classes = [RequiresScope()]

    @extend_schema(
        operation_id="partner_me",
        tags=["partner"],
        responses={200: PartnerMeSerializer, **PARTNER_ERROR_RESPONSES},
        examples=[
            OpenApiExample(
                "A housing partner",
                value={"id": 3, "name": "Thirteen Housing", "kind": "housing", "scopes": ["referrals:read"]},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        partner = request.partner
        data = {"id": partner.pk, "name": partner.name, "kind": partner.kind, "scopes": partner_scopes(request)}
        return Response(PartnerMeSerializer(data).data)
