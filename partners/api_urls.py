from django.urls import path

from .api import PartnerMeView

urlpatterns = [path("partner/me/", PartnerMeView.as_view(), name="api-partner-me")]
