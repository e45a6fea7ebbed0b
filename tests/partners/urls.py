"""The project's URLs plus a probe that needs a scope, for the wrong-scope (403) tests."""

from django.urls import include, path
from rest_framework.response import Response

from partners.api_auth import PartnerAPIView, RequiresScope


class WriteProbe(PartnerAPIView):
    permission_classes = [RequiresScope("referrals:write")]

    def get(self, request):
        return Response({"partner": request.partner.pk})


urlpatterns = [
    path("test-probe/write/", WriteProbe.as_view()),
    path("", include("hat_clinic.urls")),
]
