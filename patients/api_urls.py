from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("patients", api.PatientViewSet, basename="api-patient")

urlpatterns = [
    *router.urls,
    path("patients/<int:patient_pk>/episodes/", api.EpisodeList.as_view(), name="api-patient-episodes"),
    path("patients/<int:patient_pk>/consents/", api.ConsentList.as_view(), name="api-patient-consents"),
    path(
        "patients/<int:patient_pk>/outcome-interviews/",
        api.OutcomeInterviewList.as_view(),
        name="api-patient-outcome-interviews",
    ),
    path("patients/<int:patient_pk>/history/", api.ChangeList.as_view(), name="api-patient-history"),
    path("patients/<int:patient_pk>/access-log/", api.AccessLogList.as_view(), name="api-patient-access-log"),
]
