"""Staff API for incoming referrals (session authentication). Thin: the services decide, as on the pages."""

import datetime as dt

import django_filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.access import has_capability
from clinics.roles import Capability
from clinics.selectors import clinics_for
from patients.models import AccessLogEntry
from patients.services import matches_elsewhere_record

from . import services
from .models import (
    INTAKE_FIELDS,
    EligibilityCriteria,
    PreviousTreatmentEpisode,
    Recommendation,
    Referral,
    ReferralSource,
    ReferralStatus,
)
from .rules import Outcome
from .selectors import (
    can_see_referrals,
    eligibility_criteria_for,
    referral_assessment,
    referral_duplicates,
    referrals_for,
)


class ReferralProblemSerializer(serializers.Serializer):
    """A problem-details body (RFC 9457); `errors` names each field and its reasons."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


PROBLEMS = {
    400: OpenApiResponse(ReferralProblemSerializer, description="Invalid input; `errors` names each field."),
    403: OpenApiResponse(ReferralProblemSerializer, description="Your role may not do this."),
    404: OpenApiResponse(ReferralProblemSerializer, description="No such referral in your clinics."),
}


class PreviousEpisodeSerializer(serializers.ModelSerializer):
    class Meta:
        model = PreviousTreatmentEpisode
        fields = ["kind", "started_on", "ended_on", "why_ended", "notes"]


class CriterionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    reason = serializers.CharField()


class AssessmentSerializer(serializers.Serializer):
    on = serializers.DateField(help_text="The date the criteria are judged on: the decision date, or today.")
    eligible = serializers.BooleanField(help_text="Every criterion is met.")
    criteria = CriterionSerializer(many=True, source="results")


class ReferralListSerializer(serializers.ModelSerializer):
    class Meta:
        model = Referral
        fields = [
            "id",
            "clinic",
            "status",
            "source",
            "received_on",
            "given_name",
            "family_name",
            "date_of_birth",
            "recommendation",
            "patient",
            "updated_at",
        ]


class ReferralDetailSerializer(serializers.ModelSerializer):
    previous_episodes = PreviousEpisodeSerializer(many=True, read_only=True)
    assessment = serializers.SerializerMethodField()

    class Meta:
        model = Referral
        fields = [
            "id",
            "clinic",
            "status",
            "source",
            "received_on",
            *INTAKE_FIELDS,
            "previous_episodes",
            "assessment",
            "recommendation",
            "recommendation_notes",
            "recommended_by",
            "recommended_at",
            "decided_by",
            "decided_at",
            "decision_reason",
            "override_reason",
            "withdrawn_at",
            "withdrawal_reason",
            "patient",
            "possible_duplicate_of",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "possible_duplicate_of": {
                "read_only": True,
                "help_text": "A partner's referral received while the same person had this open referral: check it.",
            }
        }

    @extend_schema_field(AssessmentSerializer)
    def get_assessment(self, referral) -> dict:
        return AssessmentSerializer(referral_assessment(referral)).data


class ReferralCreateSerializer(serializers.Serializer):
    """A referral taken in. `confirm_not_duplicate` is needed once a possible duplicate patient was flagged."""

    clinic = serializers.IntegerField(required=False, help_text="Default: the clinic you are working in.")
    source = serializers.ChoiceField(choices=ReferralSource.choices)
    referrer_organisation = serializers.CharField(required=False, allow_blank=True, max_length=160)
    referrer_name = serializers.CharField(required=False, allow_blank=True, max_length=120)
    referrer_phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    referrer_email = serializers.EmailField(required=False, allow_blank=True)
    received_on = serializers.DateField()
    given_name = serializers.CharField(max_length=80)
    family_name = serializers.CharField(max_length=80)
    date_of_birth = serializers.DateField()
    nhs_number = serializers.CharField(required=False, allow_blank=True, max_length=14, help_text="10 digits.")
    sex = serializers.ChoiceField(choices=Referral._meta.get_field("sex").choices, required=False)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    contact_route = serializers.ChoiceField(choices=Referral._meta.get_field("contact_route").choices, required=False)
    contact_notes = serializers.CharField(required=False, allow_blank=True)
    years_dependent = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=80)
    months_in_oral_treatment = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=600)
    injecting_days_last_3_months = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=92)
    pregnant = serializers.BooleanField(required=False, allow_null=True, default=None)
    contraindication = serializers.BooleanField(required=False, allow_null=True, default=None)
    exclusion_notes = serializers.CharField(required=False, allow_blank=True)
    previous_episodes = PreviousEpisodeSerializer(many=True, required=False)
    confirm_not_duplicate = serializers.BooleanField(required=False, default=False)

    def validate_nhs_number(self, value: str) -> str:
        return "".join(value.split()).replace("-", "")


class RecommendSerializer(serializers.Serializer):
    recommendation = serializers.ChoiceField(choices=Recommendation.choices)
    notes = serializers.CharField(required=False, allow_blank=True, help_text="Required when recommending decline.")


class AcceptSerializer(serializers.Serializer):
    started_on = serializers.DateField(required=False, allow_null=True, help_text="Default: today.")
    override_reason = serializers.CharField(
        required=False, allow_blank=True, help_text="Required when a criterion is not met or not known."
    )
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Notes on the decision.")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, help_text="Required.")


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as flat field paths (previous_episodes[1].started_on), one list of reasons each."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for name, value in errors.items():
            # DRF keys the errors of a list's rows by position.
            path = f"{prefix}[{name}]" if isinstance(name, int) else (f"{prefix}.{name}" if prefix else str(name))
            flat.update(flatten_errors(value, path))
    elif isinstance(errors, list) and any(isinstance(item, dict | list) for item in errors):
        for index, item in enumerate(errors):
            flat.update(flatten_errors(item, f"{prefix}[{index}]"))
    elif errors:
        flat[prefix or "non_field_errors"] = [str(item) for item in (errors if isinstance(errors, list) else [errors])]
    return flat


def valid_data(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ValidationError(flatten_errors(serializer.errors))
    return serializer.validated_data


class CanSeeReferrals(permissions.BasePermission):
    message = "Referrals are for keyworkers and prescribers (clinic managers may read them)."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return can_see_referrals(request.user)
        return has_capability(request.user, Capability.HANDLE_REFERRALS) or has_capability(
            request.user, Capability.SIGN_OFF_REFERRALS
        )


class ReferralFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReferralStatus.choices)
    updated_since = django_filters.IsoDateTimeFilter(method="filter_updated_since")

    class Meta:
        model = Referral
        fields = ["status", "updated_since"]

    def filter_updated_since(self, queryset, name, value):
        # In UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 (and Python) allow.
        return queryset.filter(updated_at__gte=value.astimezone(dt.UTC))


@extend_schema_view(
    list=extend_schema(
        summary="Referrals in your clinics", responses={200: ReferralListSerializer, 403: PROBLEMS[403]}
    ),
    retrieve=extend_schema(
        summary="One referral with its eligibility assessment",
        responses={200: ReferralDetailSerializer, 403: PROBLEMS[403], 404: PROBLEMS[404]},
    ),
)
class ReferralViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Incoming referrals: take in, assess, recommend, accept or decline, withdraw."""

    permission_classes = [permissions.IsAuthenticated, CanSeeReferrals]
    filterset_class = ReferralFilter
    queryset = Referral.objects.none()  # for the schema; every request starts from the user's clinics

    def get_queryset(self):
        referrals = referrals_for(self.request.user).select_related("clinic").order_by("-received_on", "-pk")
        if self.action != "list":
            referrals = referrals.prefetch_related("previous_episodes")
        return referrals

    def get_serializer_class(self):
        return ReferralListSerializer if self.action == "list" else ReferralDetailSerializer

    def _detail(self, referral, status_code=status.HTTP_200_OK) -> Response:
        referral = self.get_queryset().get(pk=referral.pk)
        return Response(ReferralDetailSerializer(referral).data, status=status_code)

    @extend_schema(
        summary="Take a referral in",
        request=ReferralCreateSerializer,
        responses={201: ReferralDetailSerializer, **PROBLEMS},
    )
    def create(self, request):
        data = dict(valid_data(ReferralCreateSerializer, request.data))
        clinic_id = data.pop("clinic", None)
        clinic = request.clinic if clinic_id is None else clinics_for(request.user).filter(pk=clinic_id).first()
        if clinic is None:
            raise ValidationError({"clinic": "Choose one of your clinics."})
        episodes = [dict(episode) for episode in data.pop("previous_episodes", [])]
        try:
            referral = services.referral_create(
                clinic=clinic, created_by=request.user, previous_episodes=episodes, **data
            )
        except ValidationError as error:
            if "confirm_not_duplicate" in getattr(error, "error_dict", {}):
                # Issue 11: the count includes patients of other clinics: each such match is logged.
                person = {name: data.get(name) or "" for name in ("nhs_number", "given_name", "family_name")}
                found = referral_duplicates(**person, date_of_birth=data.get("date_of_birth")).patients
                matches_elsewhere_record(user=request.user, patients=found, channel=AccessLogEntry.Channel.API)
            raise
        return self._detail(referral, status.HTTP_201_CREATED)

    @extend_schema(summary="Start the assessment", request=None, responses={200: ReferralDetailSerializer, **PROBLEMS})
    @action(detail=True, methods=["post"], url_path="start-assessment")
    def start_assessment(self, request, pk=None):
        referral = services.referral_start_assessment(referral=self.get_object(), by=request.user)
        return self._detail(referral)

    @extend_schema(
        summary="Keyworker's recommendation (then awaiting prescriber)",
        request=RecommendSerializer,
        responses={200: ReferralDetailSerializer, **PROBLEMS},
    )
    @action(detail=True, methods=["post"])
    def recommend(self, request, pk=None):
        data = valid_data(RecommendSerializer, request.data)
        referral = services.referral_recommend(referral=self.get_object(), by=request.user, **data)
        return self._detail(referral)

    @extend_schema(
        summary="Prescriber accepts: registers the patient and opens a treatment episode",
        request=AcceptSerializer,
        responses={200: ReferralDetailSerializer, **PROBLEMS},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        data = valid_data(AcceptSerializer, request.data)
        referral = services.referral_accept(referral=self.get_object(), by=request.user, **data)
        return self._detail(referral)

    @extend_schema(
        summary="Prescriber declines (reason required)",
        request=ReasonSerializer,
        responses={200: ReferralDetailSerializer, **PROBLEMS},
    )
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        data = valid_data(ReasonSerializer, request.data)
        referral = services.referral_decline(referral=self.get_object(), by=request.user, **data)
        return self._detail(referral)

    @extend_schema(
        summary="Withdraw an open referral (reason required)",
        request=ReasonSerializer,
        responses={200: ReferralDetailSerializer, **PROBLEMS},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        data = valid_data(ReasonSerializer, request.data)
        referral = services.referral_withdraw(referral=self.get_object(), by=request.user, **data)
        return self._detail(referral)


class EligibilityCriteriaSerializer(serializers.ModelSerializer):
    class Meta:
        model = EligibilityCriteria
        fields = [
            "clinic",
            "min_age",
            "min_years_dependence",
            "min_failed_oral_episodes",
            "min_months_in_oral_treatment",
            "min_injecting_share",
        ]
        read_only_fields = ["clinic"]


class EligibilityCriteriaView(APIView):
    """A clinic's eligibility criteria: read by referral staff and managers, changed by its manager."""

    def _clinic(self, request, clinic_id: int):
        clinic = clinics_for(request.user).filter(pk=clinic_id).first()
        if clinic is None:
            raise Http404("No such clinic among yours.")
        return clinic

    @extend_schema(
        summary="A clinic's eligibility criteria", responses={200: EligibilityCriteriaSerializer, **PROBLEMS}
    )
    def get(self, request, clinic_id: int):
        if not (can_see_referrals(request.user) or has_capability(request.user, Capability.MANAGE_CLINIC)):
            raise PermissionDenied("Eligibility criteria are for referral staff and clinic managers.")
        return Response(EligibilityCriteriaSerializer(eligibility_criteria_for(self._clinic(request, clinic_id))).data)

    @extend_schema(
        summary="Change a clinic's eligibility criteria (clinic manager)",
        request=EligibilityCriteriaSerializer,
        responses={200: EligibilityCriteriaSerializer, **PROBLEMS},
    )
    def put(self, request, clinic_id: int):
        clinic = self._clinic(request, clinic_id)
        data = valid_data(EligibilityCriteriaSerializer, request.data)
        criteria = services.eligibility_criteria_update(clinic=clinic, by=request.user, **data)
        return Response(EligibilityCriteriaSerializer(criteria).data)
