"""Staff API for patients (session authentication): thin views over the same selectors and services as the pages.

Every query starts from `patients_for(user)`: another clinic's patient is 404 before any
capability check. Each read of a record or a part of it writes one access-log entry (SPEC 8).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from clinics.access import has_capability
from clinics.models import Clinic, User
from clinics.roles import Capability
from clinics.selectors import clinics_for
from partners.models import PartnerOrganisation

from . import rules, selectors, services
from .models import (
    AccessLogEntry,
    AccessPart,
    ConsentDecision,
    ConsentEntry,
    ConsentKind,
    DischargeReason,
    Episode,
    OutcomeInterview,
    Patient,
    PatientStatus,
)
from .validators import normalise_nhs_number

API = AccessLogEntry.Channel.API


class CanViewPatients(permissions.BasePermission):
    message = "This needs the 'See patient records' permission."

    def has_permission(self, request, view):
        return has_capability(request.user, Capability.VIEW_PATIENTS)


def require(user, capability: Capability) -> None:
    if not has_capability(user, capability):
        raise PermissionDenied(f"This needs the '{capability.label}' permission.")


# --- Serializers -------------------------------------------------------------------


class PatientListSerializer(serializers.ModelSerializer):
    in_treatment_since = serializers.DateField(read_only=True, allow_null=True)

    class Meta:
        model = Patient
        fields = [
            "id",
            "clinic",
            "nhs_number",
            "given_name",
            "family_name",
            "preferred_name",
            "date_of_birth",
            "status",
            "keyworker",
            "in_treatment_since",
        ]
        read_only_fields = fields


class ConsentStateSerializer(serializers.Serializer):
    label = serializers.CharField()
    partner = serializers.IntegerField(source="partner.pk", allow_null=True)
    decision = serializers.ChoiceField(choices=ConsentDecision.choices, source="entry.decision", allow_null=True)
    effective_at = serializers.DateTimeField(source="entry.effective_at", allow_null=True)


class PatientSerializer(serializers.ModelSerializer):
    # Declared, not generated: a read-only model field loses allow_blank, and "" (no email known) is an
    # answer the schema must allow, the same as the input serializer accepts it.
    email = serializers.EmailField(read_only=True, allow_blank=True)
    has_photo = serializers.SerializerMethodField()
    current_consents = ConsentStateSerializer(many=True, read_only=True)

    class Meta:
        model = Patient
        fields = [
            "id",
            "clinic",
            "nhs_number",
            "given_name",
            "family_name",
            "preferred_name",
            "date_of_birth",
            "sex",
            "phone",
            "email",
            "address",
            "contact_route",
            "contact_notes",
            "gp_practice",
            "clinical_alert",
            "keyworker",
            "status",
            "has_photo",
            "current_consents",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_has_photo(self, patient) -> bool:
        return bool(patient.photo)


class PatientListQuery(serializers.Serializer):
    """The list's query parameters: a NUL byte in `q` or an unknown `status` is a 400 naming it, not a 500."""

    q = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Search by name or NHS number."
    )
    status = serializers.ChoiceField(
        choices=PatientStatus.choices, required=False, allow_blank=True, help_text="Only patients in this status."
    )


class PatientDetailsInputSerializer(serializers.Serializer):
    """Patient details a keyworker sets; the service validates them (NHS number, date of birth, keyworker)."""

    nhs_number = serializers.CharField(max_length=14, required=False, allow_blank=True, help_text="10 digits.")
    given_name = serializers.CharField(max_length=80)
    family_name = serializers.CharField(max_length=80)
    preferred_name = serializers.CharField(max_length=80, required=False, allow_blank=True)
    date_of_birth = serializers.DateField()
    sex = serializers.ChoiceField(choices=Patient._meta.get_field("sex").choices, required=False)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    address = serializers.CharField(required=False, allow_blank=True)
    contact_route = serializers.ChoiceField(choices=Patient._meta.get_field("contact_route").choices, required=False)
    contact_notes = serializers.CharField(required=False, allow_blank=True)
    gp_practice = serializers.CharField(max_length=160, required=False, allow_blank=True)
    clinical_alert = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Allergies and clinical alerts, shown on the board."
    )
    keyworker = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False, allow_null=True)


class PatientCreateSerializer(PatientDetailsInputSerializer):
    clinic = serializers.PrimaryKeyRelatedField(
        queryset=Clinic.objects.all(), required=False, help_text="Defaults to the clinic you are working in."
    )
    started_on = serializers.DateField(help_text="Start of the first treatment episode.")
    confirm_duplicates = serializers.BooleanField(
        default=False, help_text="Set after checking the possible duplicates reported by a first attempt."
    )


class PatientUpdateSerializer(PatientDetailsInputSerializer):
    given_name = serializers.CharField(max_length=80, required=False)
    family_name = serializers.CharField(max_length=80, required=False)
    date_of_birth = serializers.DateField(required=False)


class EpisodeSerializer(serializers.ModelSerializer):
    # An open episode has no discharge reason yet: "" is part of the answer's enum.
    discharge_reason = serializers.ChoiceField(choices=DischargeReason.choices, read_only=True, allow_blank=True)

    class Meta:
        model = Episode
        fields = ["id", "clinic", "started_on", "ended_on", "discharge_reason", "discharge_notes", "discharged_by"]
        read_only_fields = fields


class DischargeSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=DischargeReason.choices)
    ended_on = serializers.DateField(required=False, allow_null=True, help_text="Defaults to today.")
    notes = serializers.CharField(required=False, allow_blank=True, default="", help_text="Required for 'other'.")


class ReadmitSerializer(serializers.Serializer):
    started_on = serializers.DateField(required=False, allow_null=True, help_text="Defaults to today.")


class ConsentEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentEntry
        fields = ["id", "kind", "partner", "decision", "effective_at", "notes", "recorded_by", "recorded_at"]
        read_only_fields = fields


class ConsentCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ConsentKind.choices)
    partner = serializers.PrimaryKeyRelatedField(
        queryset=PartnerOrganisation.objects.all(), required=False, allow_null=True, help_text="For data sharing."
    )
    decision = serializers.ChoiceField(choices=ConsentDecision.choices)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class OutcomeInterviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutcomeInterview
        fields = [
            "id",
            "episode",
            "interviewed_on",
            *OutcomeInterview.DAY_FIELDS,
            *OutcomeInterview.RATING_FIELDS,
            *rules.TOP_YES_NO_FIELDS,
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


def _top_input_fields() -> dict:
    fields = {"interviewed_on": serializers.DateField(required=False, help_text="Defaults to today.")}
    for name in (*OutcomeInterview.DAY_FIELDS, *OutcomeInterview.RATING_FIELDS):
        low, high = rules.top_bounds(name)
        message = rules.top_bound_message(name)
        fields[name] = serializers.IntegerField(
            min_value=low,
            max_value=high,
            error_messages={"min_value": message, "max_value": message, "invalid": message},
            help_text=message,
        )
    for name in rules.TOP_YES_NO_FIELDS:
        fields[name] = serializers.BooleanField(help_text=rules.top_field_label(name))
    return fields


OutcomeInterviewCreateSerializer = type(
    "OutcomeInterviewCreateSerializer",
    (serializers.Serializer,),
    {"__doc__": "A TOP interview (SPEC 3.6): days out of the last 28 (0-28), ratings 0-20.", **_top_input_fields()},
)


class AccessLogEntrySerializer(serializers.ModelSerializer):
    user_name = serializers.SerializerMethodField()

    class Meta:
        model = AccessLogEntry
        fields = ["id", "at", "user", "user_name", "partner", "what", "channel"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_user_name(self, entry) -> str:
        """Who read: a member of staff, or the partner organisation (then `user` is null)."""
        return entry.who


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.CharField()
    new = serializers.CharField()


class ChangeSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    who = serializers.SerializerMethodField()
    what = serializers.CharField()
    action = serializers.CharField()
    changes = serializers.SerializerMethodField()

    # None for a change no member of staff made (a data migration, a scheduled job).
    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_who(self, change) -> int | None:
        return change.who.pk if change.who else None

    @extend_schema_field(FieldChangeSerializer(many=True))
    def get_changes(self, change):
        return [{"field": field, "old": old, "new": new} for field, old, new in change.changes]


# --- Views ---------------------------------------------------------------------------


@extend_schema(tags=["patients"])
class PatientViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Patients of the clinics you work in."""

    permission_classes = [permissions.IsAuthenticated, CanViewPatients]
    filter_backends = []
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Patient.objects.none()
        if self.action == "list":
            query = PatientListQuery(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            return selectors.patient_list(
                self.request.user,
                search=query.validated_data.get("q", ""),
                status=query.validated_data.get("status", ""),
            )
        return selectors.patients_for(self.request.user).select_related("clinic", "keyworker")

    def get_serializer_class(self):
        return PatientListSerializer if self.action == "list" else PatientSerializer

    @extend_schema(parameters=[PatientListQuery])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        patient = self.get_object()
        services.access_log_record(user=request.user, patient=patient, what=AccessPart.RECORD, channel=API)
        patient.current_consents = selectors.current_consents(patient)
        return Response(PatientSerializer(patient).data)

    @extend_schema(request=PatientCreateSerializer, responses={201: PatientSerializer})
    def create(self, request, *args, **kwargs):
        require(request.user, Capability.HANDLE_REFERRALS)
        data = PatientCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        details = dict(data.validated_data)
        clinic = details.pop("clinic", None) or request.clinic
        if clinic is None or not clinics_for(request.user).filter(pk=clinic.pk).exists():
            raise ValidationError({"clinic": "Clinic: you do not work at that clinic."})
        started_on = details.pop("started_on")
        confirmed = details.pop("confirm_duplicates")
        duplicates = services.duplicates_check(
            user=request.user,
            channel=API,
            nhs_number=normalise_nhs_number(details.get("nhs_number", "")),
            given_name=details["given_name"],
            family_name=details["family_name"],
            date_of_birth=details["date_of_birth"],
        )
        if duplicates and not confirmed and not duplicates.same_nhs_number:
            raise ValidationError(
                {
                    "confirm_duplicates": f"This person may already be registered: {duplicates.summary()}. "
                    "Check, then send confirm_duplicates: true to register anyway."
                }
            )
        patient = services.patient_register(
            clinic=clinic,
            started_on=started_on,
            registered_by=request.user,
            allow_duplicates=confirmed,
            **details,
        )
        patient.current_consents = selectors.current_consents(patient)
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PatientUpdateSerializer, responses=PatientSerializer)
    def partial_update(self, request, *args, **kwargs):
        patient = self.get_object()
        require(request.user, Capability.HANDLE_REFERRALS)
        data = PatientUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        patient = services.patient_update(patient=patient, updated_by=request.user, **data.validated_data)
        patient.current_consents = selectors.current_consents(patient)
        return Response(PatientSerializer(patient).data)

    @extend_schema(exclude=True)
    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=DischargeSerializer, responses=EpisodeSerializer)
    @action(detail=True, methods=["post"])
    def discharge(self, request, pk=None):
        """Discharge with a reason from the controlled list (SPEC 3.8): closes the open episode."""
        patient = self.get_object()
        require(request.user, Capability.HANDLE_REFERRALS)
        data = DischargeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        episode = services.patient_discharge(patient=patient, discharged_by=request.user, **data.validated_data)
        return Response(EpisodeSerializer(episode).data)

    @extend_schema(request=ReadmitSerializer, responses={201: EpisodeSerializer})
    @action(detail=True, methods=["post"])
    def readmit(self, request, pk=None):
        """Re-admit a discharged patient: a new episode opens; earlier ones are kept."""
        patient = self.get_object()
        require(request.user, Capability.HANDLE_REFERRALS)
        data = ReadmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        episode = services.patient_readmit(patient=patient, readmitted_by=request.user, **data.validated_data)
        return Response(EpisodeSerializer(episode).data, status=status.HTTP_201_CREATED)


class PatientPartView(generics.ListAPIView):
    """A part of one patient's record: /patients/{patient_pk}/<part>/, a paginated list (`count`, `results`).

    A list view, so the schema describes the paginated answer the code gives (and the `page` parameter).
    """

    permission_classes = [permissions.IsAuthenticated, CanViewPatients]
    filter_backends = []
    part: AccessPart
    read_capability: Capability | None = None
    write_capability: Capability = Capability.HANDLE_REFERRALS

    def get_patient(self) -> Patient:
        if not hasattr(self, "_patient"):
            patients = selectors.patients_for(self.request.user).select_related("clinic")
            self._patient = get_object_or_404(patients, pk=self.kwargs["patient_pk"])
            needed = self.read_capability if self.request.method in permissions.SAFE_METHODS else self.write_capability
            if needed is not None:
                require(self.request.user, needed)
        return self._patient

    def list(self, request, *args, **kwargs):
        patient = self.get_patient()
        services.access_log_record(user=request.user, patient=patient, what=self.part, channel=API)
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["patients"])
class EpisodeList(PatientPartView):
    """The patient's treatment episodes, newest first."""

    part = AccessPart.EPISODES
    serializer_class = EpisodeSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Episode.objects.none()
        return selectors.episodes_of(self.get_patient())


@extend_schema(tags=["patients"])
class ConsentList(PatientPartView):
    """Every consent decision for the patient, newest first. A withdrawal is a new entry."""

    part = AccessPart.CONSENTS
    serializer_class = ConsentEntrySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ConsentEntry.objects.none()
        return selectors.consent_history(self.get_patient())

    @extend_schema(request=ConsentCreateSerializer, responses={201: ConsentEntrySerializer})
    def post(self, request, *args, **kwargs):
        patient = self.get_patient()
        data = ConsentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.consent_record(patient=patient, recorded_by=request.user, **data.validated_data)
        return Response(ConsentEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["patients"])
class OutcomeInterviewList(PatientPartView):
    """The patient's TOP outcome interviews, newest first."""

    part = AccessPart.OUTCOMES
    serializer_class = OutcomeInterviewSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return OutcomeInterview.objects.none()
        return selectors.outcome_interviews_of(self.get_patient())

    @extend_schema(request=OutcomeInterviewCreateSerializer, responses={201: OutcomeInterviewSerializer})
    def post(self, request, *args, **kwargs):
        patient = self.get_patient()
        data = OutcomeInterviewCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        interview = services.outcome_interview_record(patient=patient, recorded_by=request.user, **data.validated_data)
        return Response(OutcomeInterviewSerializer(interview).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["patients"])
class ChangeList(PatientPartView):
    """Every change to the patient's details, episodes, consents and interviews: who, when, old and new values."""

    part = AccessPart.HISTORY
    serializer_class = ChangeSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return []
        return selectors.change_history(self.get_patient())


@extend_schema(tags=["patients"])
class AccessLogList(PatientPartView):
    """Who viewed this patient's record or a part of it (clinic managers only)."""

    part = AccessPart.ACCESS_LOG
    read_capability = Capability.MANAGE_CLINIC
    serializer_class = AccessLogEntrySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AccessLogEntry.objects.none()
        return selectors.access_log_of(self.get_patient())
