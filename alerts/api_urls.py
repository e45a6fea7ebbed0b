from django.urls import path

from .api import PartnerAlertsView

urlpatterns = [
    path("partner/alerts/", PartnerAlertsView.as_view(), name="api-partner-alert-list"),
]
