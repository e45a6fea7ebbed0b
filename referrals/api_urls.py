from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import EligibilityCriteriaView, ReferralViewSet

router = SimpleRouter()
router.register("referrals", ReferralViewSet, basename="api-referral")

urlpatterns = [
    path(
        "clinics/<int:clinic_id>/eligibility-criteria/",
        EligibilityCriteriaView.as_view(),
        name="api-eligibility-criteria",
    ),
    *router.urls,
]
