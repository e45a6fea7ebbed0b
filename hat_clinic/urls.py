from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from two_factor.admin import AdminSiteOTPRequired

# The admin needs a verified second factor, always (django-two-factor-auth's OTP admin site); its
# sign-in page is ours, with the code step.
admin.site.__class__ = AdminSiteOTPRequired

api_v1 = [
    path("", include("clinics.api_urls")),
    path("", include("patients.api_urls")),
    path("", include("referrals.api_urls")),
    path("", include("onward.api_urls")),
    path("", include("dosing.api_urls")),
    path("", include("partners.api_urls")),
    path("", include("cd_register.api_urls")),
    path("", include("reports.api_urls")),
    path("", include("alerts.api_urls")),
]

urlpatterns = [
    path("", include("clinics.urls")),
    path("patients/", include("patients.urls")),
    path("referrals/onward/", include("onward.urls")),
    path("referrals/", include("referrals.urls")),
    path("dosing/", include("dosing.urls")),
    path("partners/", include("partners.urls")),
    path("register/", include("cd_register.urls")),
    path("reports/", include("reports.urls")),
    path("alerts/", include("alerts.urls")),
    path("health/", include("health.urls")),
    path("o/", include("partners.oauth_urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

# Pages keep their error templates; under /api/ every error is a problem+json body (clinics/api_errors.py).
handler400 = "clinics.api_errors.bad_request"
handler403 = "clinics.api_errors.permission_denied"
handler404 = "clinics.api_errors.page_not_found"
handler500 = "clinics.api_errors.server_error"
