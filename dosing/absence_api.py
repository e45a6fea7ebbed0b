"""Staff API for planned absences (S7): list a patient's and record one. Thin: the service decides.

A keyworker or a prescriber records; anyone who sees patient records reads. Its own module so
the dosing API file stays as it was.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.roles import Capability
from patients.models import AccessPart
from patients.selectors import patients_for

from . import selectors
from .absence_views import may_record_absences
from .api import _query, _viewed, needs
from .models import AbsenceReason, PlannedAbsence
from .services.absences import absence_record


class MayRecordAbsences(BasePermission):
    message = "Only keyworkers and prescribers record planned absences."

    def has_permission(self, request, view):
        return request.method in ("GET", "HEAD", "OPTIONS") or may_record_absences(request.user)


class AbsenceOut(serializers.ModelSerializer):
    days = serializers.IntegerField(read_only=True)

    class Meta:
        model = PlannedAbsence
        fields = ["id", "patient", "starts_on", "ends_on", "days", "reason", "notes", "recorded_by", "recorded_at"]
        read_only_fields = fields


class AbsenceListView(APIView):
    """A patient's planned absences (`?patient=`); keyworkers and prescribers record one (its slots are cancelled)."""

    permission_classes = [IsAuthenticated, needs(Capability.VIEW_PATIENTS), MayRecordAbsences]

    class AbsenceQuery(serializers.Serializer):
        patient = serializers.IntegerField(help_text="Patient id.")

    class AbsenceIn(serializers.Serializer):
        patient = serializers.IntegerField()
        starts_on = serializers.DateField(help_text="First day away: today or later.")
        ends_on = serializers.DateField(help_text="Last day away.")
        reason = serializers.ChoiceField(choices=AbsenceReason.choices)
        notes = serializers.CharField(required=False, allow_blank=True, default="", help_text="Required for 'other'.")

    @extend_schema(
        parameters=[OpenApiParameter("patient", OpenApiTypes.INT, required=True, description="Patient id.")],
        responses=AbsenceOut(many=True),
    )
    def get(self, request):
        patient = get_object_or_404(patients_for(request.user), pk=_query(self.AbsenceQuery, request)["patient"])
        _viewed(request, patient, AccessPart.PRESCRIPTIONS)
        return Response(AbsenceOut(selectors.absences_of(patient), many=True).data)

    @extend_schema(request=AbsenceIn, responses={201: AbsenceOut})
    def post(self, request):
        data = self.AbsenceIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        patient = get_object_or_404(patients_for(request.user), pk=fields.pop("patient"))
        absence = absence_record(patient=patient, recorded_by=request.user, **fields)
        return Response(AbsenceOut(absence).data, status=status.HTTP_201_CREATED)
