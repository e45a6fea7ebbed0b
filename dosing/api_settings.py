"""Staff API for a clinic's dosing settings (the clinic manager) and, in api_licences, prescriber licences.

GET shows the settings in force, a pending change (made during a session, in force from
`pending_from`) and the history of changes (who, when, old and new); PUT changes them. Bounds are
the SPEC's: a refusal is a 400 problem body whose message names the rule ("S6 · ...") and the field.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.models import User
from clinics.roles import Capability
from clinics.selectors import clinics_for

from . import selectors, services
from .api import needs
from .models import DosingSettings
from .rules import SETTINGS_FIELDS
from .services.settings import dosing_settings_change


@extend_schema_field(
    {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "08:00", "description": "HH:MM"}
)
class ClockTimeField(serializers.TimeField):
    """A time of day as "HH:MM" (the OpenAPI "time" format would demand seconds and an offset)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%H:%M")
        super().__init__(**kwargs)


class DosingSettingsIn(serializers.Serializer):
    """Every setting (PUT replaces them all). Bounds are checked by the rules, so a refusal names its rule."""

    morning_start = ClockTimeField()
    morning_end = ClockTimeField()
    afternoon_start = ClockTimeField()
    afternoon_end = ClockTimeField()
    evening_start = ClockTimeField()
    evening_end = ClockTimeField()
    sessions_per_day = serializers.IntegerField(help_text="S2: 1 to 3.")
    observation_minutes = serializers.IntegerField(help_text="S6: 10 to 30.")
    minimum_interval_minutes = serializers.IntegerField(help_text="S3: 60 to 720.")
    missed_days_threshold = serializers.IntegerField(help_text="S7: 1 to 14.")
    missed_days_threshold_titration = serializers.IntegerField(help_text="S7: 1 to 14.")
    max_daily_diamorphine_mg = serializers.DecimalField(max_digits=7, decimal_places=2, help_text="S4: 1 to 1000.")
    max_daily_hydromorphone_mg = serializers.DecimalField(max_digits=7, decimal_places=2, help_text="S4: 1 to 500.")
    breath_alcohol_limit_ug = serializers.DecimalField(max_digits=5, decimal_places=1, help_text="S5: 0 to 35.")
    max_daily_methadone_mg = serializers.DecimalField(max_digits=7, decimal_places=2, help_text="S4: 1 to 150.")
    max_daily_morphine_sr_mg = serializers.DecimalField(max_digits=7, decimal_places=2, help_text="S4: 1 to 1200.")


class ChangeOut(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.CharField()
    new = serializers.CharField()


class HistoryOut(serializers.Serializer):
    at = serializers.DateTimeField()
    by = serializers.IntegerField(source="by.pk", allow_null=True, default=None)
    changes = ChangeOut(many=True)


class DosingSettingsOut(DosingSettingsIn):
    clinic = serializers.IntegerField(source="clinic_id")
    pending = serializers.DictField(allow_null=True, help_text="Values in force from `pending_from`.")
    pending_from = serializers.DateTimeField(allow_null=True)
    pending_by = serializers.IntegerField(source="pending_by_id", allow_null=True)
    history = HistoryOut(many=True, source="change_history")


def _out(settings: DosingSettings) -> dict:
    settings.change_history = selectors.settings_history(settings)
    return DosingSettingsOut(settings).data


class DosingSettingsView(APIView):
    """A clinic's dosing settings: read by its board's staff and manager, changed by its clinic manager."""

    permission_classes = [IsAuthenticated, needs(Capability.MANAGE_CLINIC, Capability.VIEW_BOARD)]

    @extend_schema(responses=DosingSettingsOut)
    def get(self, request, clinic_id: int):
        clinic = get_object_or_404(clinics_for(request.user), pk=clinic_id)
        return Response(_out(DosingSettings.for_clinic(clinic)))

    @extend_schema(request=DosingSettingsIn, responses=DosingSettingsOut)
    def put(self, request, clinic_id: int):
        clinic = get_object_or_404(clinics_for(request.user), pk=clinic_id)
        data = DosingSettingsIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = {name: data.validated_data[name] for name in SETTINGS_FIELDS}
        return Response(_out(dosing_settings_change(clinic=clinic, by=request.user, values=values)))


class LicenceOut(serializers.Serializer):
    id = serializers.IntegerField()
    prescriber = serializers.IntegerField(source="prescriber_id")
    clinic = serializers.IntegerField(source="clinic_id")
    number = serializers.CharField()
    valid_from = serializers.DateField()
    valid_to = serializers.DateField()
    recorded_by = serializers.IntegerField(source="recorded_by_id")
    recorded_at = serializers.DateTimeField()


class LicenceListView(APIView):
    """S14: a clinic's prescriber licences (newest first); its clinic manager records new ones."""

    permission_classes = [IsAuthenticated, needs(Capability.MANAGE_CLINIC)]

    class LicenceIn(serializers.Serializer):
        prescriber = serializers.IntegerField()
        number = serializers.CharField(required=False, allow_blank=True, default="")
        valid_from = serializers.DateField(required=False, allow_null=True, default=None)
        valid_to = serializers.DateField(required=False, allow_null=True, default=None)

    @extend_schema(responses=LicenceOut(many=True))
    def get(self, request, clinic_id: int):
        clinic = get_object_or_404(clinics_for(request.user), pk=clinic_id)
        return Response(LicenceOut(selectors.licences_of(clinic), many=True).data)

    @extend_schema(request=LicenceIn, responses={201: LicenceOut})
    def post(self, request, clinic_id: int):
        clinic = get_object_or_404(clinics_for(request.user), pk=clinic_id)
        data = self.LicenceIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields["prescriber"] = User.objects.filter(pk=fields["prescriber"]).first()
        licence = services.licence_record(clinic=clinic, by=request.user, **fields)
        return Response(LicenceOut(licence).data, status=status.HTTP_201_CREATED)
