"""Statistics API for commissioners and clinic managers (VIEW_STATISTICS), session authentication.

The same filters, selector and presenter as the dashboard: the figures are suppressed before
they reach the serializer. A count is an integer or "*"; a rate (0 to 1) or a mean is a number,
"*", or null when there is nothing to divide by or a retention cohort has not got there yet.
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.access import has_capability
from clinics.models import Clinic
from clinics.roles import Capability
from onward.models import OnwardOutcome
from partners.models import PartnerKind
from patients.models import DischargeReason
from referrals.models import ReferralSource

from .cache import rendered, report_for, report_key
from .selectors import (
    ONWARD_CANCELLED,
    ONWARD_OPEN,
    RETENTION_MONTHS,
    TOP_FLAGS,
    TOP_MEANS,
    Granularity,
    parse_filters,
)

COUNT_SCHEMA = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "enum": ["*"]}]}
NUMBER_SCHEMA = {"oneOf": [{"type": "number"}, {"type": "string", "enum": ["*"]}], "nullable": True}


@extend_schema_field(COUNT_SCHEMA)
class CountField(serializers.Field):
    """A count: rounded to the nearest 5, 0, or "*" for a count from 1 to 7."""

    def to_representation(self, value):
        return value


@extend_schema_field(NUMBER_SCHEMA)
class NumberField(serializers.Field):
    """A rate (0 to 1) or a mean: a number, "*" when suppressed, null when not available."""

    def to_representation(self, value):
        return value


class FiguresOut(serializers.Serializer):
    """Figures already suppressed and shaped by the presenter (dicts of plain values), read out as DRF's own
    Serializer.to_representation reads them, field by field, without its machinery around each field.

    A five-year monthly answer holds a few thousand rows: DRF's per-field loop (get_attribute, SkipField) took
    27 ms of a cold answer's 86 (bench.stats_profile --api). Each value still goes through its field's own
    to_representation, and None stays None, as DRF does. A row that is not a dict, lacks a field's key or holds
    a callable, and a serializer with a field whose source is not its name, take DRF's own path.
    """

    def to_representation(self, instance):
        plan = self.__dict__.get("_read_out")
        if plan is None:
            plan = self._read_out = _read_out(self)
        if plan is False or type(instance) is not dict:
            return super().to_representation(instance)
        answer = {}
        for name, represent in plan:
            value = instance.get(name, _MISSING)
            if value is _MISSING or callable(value):  # DRF's path: its default, SkipField or error; it calls it
                return super().to_representation(instance)
            answer[name] = None if value is None else represent(value)
        return answer


_MISSING = object()


def _read_out(serializer: serializers.Serializer):
    """[(field name, its to_representation)] in DRF's order, or False when a field reads another source."""
    plan = []
    for field in serializer._readable_fields:
        if field.source_attrs != [field.field_name]:
            return False
        plan.append((field.field_name, field.to_representation))
    return plan


def _counts_serializer(name: str, keys) -> type[serializers.Serializer]:
    return type(name, (FiguresOut,), {key: CountField() for key in keys})


DischargesSerializer = _counts_serializer("DischargesByReasonSerializer", DischargeReason.values)
SourcesSerializer = _counts_serializer("ReferralsBySourceSerializer", ReferralSource.values)


class PeriodSerializer(FiguresOut):
    label = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()


class ClinicRefSerializer(FiguresOut):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DosingFiguresSerializer(FiguresOut):
    scheduled = CountField(help_text="Sessions scheduled (slots not cancelled).")
    given = CountField(help_text="Doses given (in full or in part).")
    attendance_rate = NumberField(help_text="given / scheduled, 0 to 1.")
    missed = CountField()
    withheld = CountField()
    refused = CountField()
    pending = CountField(help_text="Sessions still open (today's, not yet used).")
    cancelled = CountField()
    adverse_events = CountField()
    naloxone_uses = CountField()


class DosingRowSerializer(DosingFiguresSerializer):
    period = PeriodSerializer()
    mean_daily_dose_mg = serializers.DictField(child=NumberField(), help_text="Drug -> mean mg per patient-day.")


class DosingTotalSerializer(DosingFiguresSerializer):
    mean_daily_dose_mg = serializers.DictField(child=NumberField())


class DosingClinicSerializer(DosingFiguresSerializer):
    clinic = ClinicRefSerializer()


class DosingSerializer(FiguresOut):
    rows = DosingRowSerializer(many=True)
    total = DosingTotalSerializer()
    by_clinic = DosingClinicSerializer(many=True)


class PatientFiguresSerializer(FiguresOut):
    in_treatment = CountField(help_text="Patients in treatment at any time in the period.")
    new_starts = CountField()
    discharges = CountField()
    discharges_by_reason = DischargesSerializer()


class PatientRowSerializer(PatientFiguresSerializer):
    period = PeriodSerializer()


class PatientsSerializer(FiguresOut):
    rows = PatientRowSerializer(many=True)
    total = PatientFiguresSerializer()


RetentionRowSerializer = type(
    "RetentionRowSerializer",
    (FiguresOut,),
    {
        "cohort": PeriodSerializer(),
        "started": CountField(),
        **{f"retained_{m}m": CountField(allow_null=True) for m in RETENTION_MONTHS},
        **{f"retention_rate_{m}m": NumberField() for m in RETENTION_MONTHS},
    },
)


class RetentionSerializer(FiguresOut):
    months = serializers.ListField(child=serializers.IntegerField())
    rows = RetentionRowSerializer(many=True)


class MeanSerializer(FiguresOut):
    start = NumberField()
    latest = NumberField()
    change = NumberField()


class FlagFigureSerializer(FiguresOut):
    count = CountField()
    rate = NumberField()


class FlagSerializer(FiguresOut):
    start = FlagFigureSerializer()
    latest = FlagFigureSerializer()


MeansSerializer = type("OutcomeMeansSerializer", (FiguresOut,), {k: MeanSerializer() for k in TOP_MEANS})
FlagsSerializer = type("OutcomeFlagsSerializer", (FiguresOut,), {k: FlagSerializer() for k in TOP_FLAGS})


class OutcomeFiguresSerializer(FiguresOut):
    people = CountField(help_text="Episodes with a follow-up interview, compared with their first interview.")
    means = MeansSerializer()
    flags = FlagsSerializer()


class OutcomeRowSerializer(OutcomeFiguresSerializer):
    period = PeriodSerializer()


class OutcomesSerializer(FiguresOut):
    rows = OutcomeRowSerializer(many=True)
    total = OutcomeFiguresSerializer()


class ReferralFiguresSerializer(FiguresOut):
    by_source = SourcesSerializer()
    received = CountField()
    started = CountField(help_text="Accepted: registered as a patient with a treatment episode.")
    conversion_rate = NumberField()


class ReferralRowSerializer(ReferralFiguresSerializer):
    period = PeriodSerializer()


class ReferralsSerializer(FiguresOut):
    rows = ReferralRowSerializer(many=True)
    total = ReferralFiguresSerializer()


PartnerKindsSerializer = _counts_serializer("OnwardByPartnerKindSerializer", PartnerKind.values)
OnwardPlacesSerializer = _counts_serializer(
    "OnwardWhereNowSerializer", [ONWARD_OPEN, ONWARD_CANCELLED, *OnwardOutcome.values]
)


class OnwardRowSerializer(FiguresOut):
    period = PeriodSerializer()
    sent = CountField()
    by_partner_kind = PartnerKindsSerializer()


class OnwardKindSerializer(FiguresOut):
    partner_kind = serializers.ChoiceField(choices=[*PartnerKind.choices, ("all", "All partners")])
    sent = CountField()
    where_now = OnwardPlacesSerializer(help_text="Still open, cancelled, or closed with each outcome.")


class OnwardSerializer(FiguresOut):
    rows = OnwardRowSerializer(many=True)
    by_partner_kind = OnwardKindSerializer(many=True)


class FiltersSerializer(FiguresOut):
    clinics = ClinicRefSerializer(many=True)
    start = serializers.DateField()
    end = serializers.DateField()
    granularity = serializers.ChoiceField(choices=Granularity.CHOICES)
    as_of = serializers.DateField()


class HeadlineFigureSerializer(FiguresOut):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=[("count", "count"), ("rate", "rate (0 to 1)")])
    value = NumberField()
    previous = NumberField(help_text="The same figure over the previous period of the same length.")
    change = NumberField(help_text="value - previous, from the figures as shown.")
    trend = serializers.ListField(child=NumberField(), help_text="The figure in each period of the range.")


class HeadlineSerializer(FiguresOut):
    previous_period = serializers.DictField(child=serializers.DateField())
    figures = HeadlineFigureSerializer(many=True)


class TopChangeRowSerializer(FiguresOut):
    measure = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=[("days", "days of 28"), ("score", "0-20"), ("flag", "share saying yes")])
    lower_is_better = serializers.BooleanField()
    people = CountField()
    entry = NumberField()
    latest = NumberField()
    change = NumberField()
    improved = CountField()
    same = CountField()
    worse = CountField()


class TopChangeSerializer(FiguresOut):
    people = CountField(help_text="People with a first TOP interview and a review in the range.")
    rows = TopChangeRowSerializer(many=True)


class SafetyFiguresSerializer(FiguresOut):
    patient_days = CountField()
    adverse_events = CountField()
    adverse_events_per_1000 = NumberField()
    overdoses = CountField()
    overdoses_per_1000 = NumberField()
    naloxone_uses = CountField()
    naloxone_uses_per_1000 = NumberField()
    deaths = CountField()
    deaths_per_1000 = NumberField()


class SafetyRowSerializer(SafetyFiguresSerializer):
    period = PeriodSerializer()


class SafetySerializer(FiguresOut):
    rows = SafetyRowSerializer(many=True)
    total = SafetyFiguresSerializer()


class StatisticsSerializer(FiguresOut):
    filters = FiltersSerializer()
    headline = HeadlineSerializer()
    top_change = TopChangeSerializer()
    safety = SafetySerializer()
    comparison = serializers.ListField(
        child=serializers.DictField(), help_text="Headline figures of each clinic (more than one clinic chosen)."
    )
    costs = serializers.DictField(help_text="The cost estimate, or available=false and the clinics missing costs.")
    suppression = serializers.CharField()
    dosing = DosingSerializer()
    patients = PatientsSerializer()
    retention = RetentionSerializer()
    outcomes = OutcomesSerializer()
    referrals = ReferralsSerializer()
    onward_referrals = OnwardSerializer()


class CanViewStatistics(permissions.BasePermission):
    message = "This needs the 'Aggregate statistics' permission."

    def has_permission(self, request, view):
        return has_capability(request.user, Capability.VIEW_STATISTICS)


class StatisticsView(APIView):
    """Commissioner statistics (SPEC 7) for one clinic or all the clinics you cover, per week, month or quarter."""

    permission_classes = [permissions.IsAuthenticated, CanViewStatistics]

    @extend_schema(
        operation_id="stats_retrieve",
        parameters=[
            OpenApiParameter("clinic", OpenApiTypes.INT, description="One of your clinics; all of them if left out."),
            OpenApiParameter("start", OpenApiTypes.DATE, description="First day (clinic-local); default a year ago."),
            OpenApiParameter("end", OpenApiTypes.DATE, description="Last day (inclusive); default today."),
            OpenApiParameter("granularity", str, enum=list(Granularity.VALUES), description="Default month."),
        ],
        responses=StatisticsSerializer,
    )
    def get(self, request):
        params = request.query_params
        try:
            clinics, start, end, granularity = parse_filters(
                request.user, **{name: params.get(name) for name in ("clinic", "start", "end", "granularity")}
            )
        except Clinic.DoesNotExist:
            raise Http404("No such clinic among yours.") from None  # bad filters: a 400 via the problem handler
        if not clinics:
            raise Http404("You cover no clinic.")
        key = report_key(clinics=clinics, start=start, end=end, granularity=granularity)
        answer = rendered(
            key,
            "api",
            lambda: (
                StatisticsSerializer(
                    report_for(clinics=clinics, start=start, end=end, granularity=granularity, key=key)
                ).data
            ),
        )
        return Response(answer)
