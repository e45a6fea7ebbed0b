from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("cd-registers", api.RegisterViewSet, basename="api-cd-register")
router.register("cd-discrepancies", api.DiscrepancyViewSet, basename="api-cd-discrepancy")

urlpatterns = [path("cd-proposals/", api.ProposalView.as_view(), name="api-cd-proposal"), *router.urls]
