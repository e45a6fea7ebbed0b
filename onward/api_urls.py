from django.urls import path
from rest_framework.routers import SimpleRouter

from . import partner_api
from .api import OnwardReferralViewSet
from .diversion import api as diversion_api

router = SimpleRouter()
router.register("onward-referrals", OnwardReferralViewSet, basename="api-onward-referral")

# The partner API (OAuth2 client credentials, SPEC 6). A reference looks like OR-7F3K2Q.
partner_urls = [
    path("partner/referrals/", partner_api.PartnerReferralListView.as_view(), name="api-partner-referral-list"),
    path(
        "partner/referrals/<str:reference>/",
        partner_api.PartnerReferralDetailView.as_view(),
        name="api-partner-referral-detail",
    ),
    path(
        "partner/referrals/<str:reference>/acknowledge/",
        partner_api.AcknowledgeView.as_view(),
        name="api-partner-referral-acknowledge",
    ),
    path(
        "partner/referrals/<str:reference>/appointment/",
        partner_api.AppointmentView.as_view(),
        name="api-partner-referral-appointment",
    ),
    path(
        "partner/referrals/<str:reference>/attendance/",
        partner_api.AttendanceView.as_view(),
        name="api-partner-referral-attendance",
    ),
    path(
        "partner/referrals/<str:reference>/close/", partner_api.CloseView.as_view(), name="api-partner-referral-close"
    ),
    path("partner/referrals/<str:reference>/notes/", partner_api.NoteView.as_view(), name="api-partner-referral-notes"),
    path(
        "partner/incoming-referrals/",
        partner_api.IncomingReferralView.as_view(),
        name="api-partner-incoming-referrals",
    ),
]

urlpatterns = [
    *partner_urls,
    *router.urls,
]

# Diversion attendance confirmations (issue 16): police and probation partners, scope diversion:read.
urlpatterns += [
    path(
        "partner/diversion/contracts/",
        diversion_api.DiversionContractListView.as_view(),
        name="api-partner-diversion-contract-list",
    ),
    path(
        "partner/diversion/contracts/<str:reference>/",
        diversion_api.DiversionContractDetailView.as_view(),
        name="api-partner-diversion-contract-detail",
    ),
    path(
        "partner/diversion/contracts/<str:reference>/weeks/<str:week_start>/",
        diversion_api.DiversionWeekView.as_view(),
        name="api-partner-diversion-week",
    ),
]
