"""Staff API for clinics and the signed-in user (session authentication)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Clinic
from .selectors import clinics_for, roles_of


class ClinicSerializer(serializers.ModelSerializer):
    class Meta:
        model = Clinic
        fields = ["id", "name", "code", "time_zone", "address", "phone"]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    clinics = ClinicSerializer(many=True)
    current_clinic = serializers.IntegerField(allow_null=True)


class MeView(APIView):
    """The signed-in member of staff: roles, clinics and the clinic they are working in."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        data = {
            "id": user.pk,
            "username": user.username,
            "full_name": user.get_full_name(),
            "roles": sorted(role.value for role in roles_of(user)),
            "clinics": clinics_for(user),
            "current_clinic": getattr(getattr(request, "clinic", None), "pk", None),
        }
        return Response(MeSerializer(data).data)


class ClinicViewSet(viewsets.ReadOnlyModelViewSet):
    """The clinics the signed-in member of staff works in."""

    serializer_class = ClinicSerializer
    filter_backends = []

    def get_queryset(self):
        return clinics_for(self.request.user)
