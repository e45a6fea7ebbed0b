from django.contrib.auth import views as auth_views
from django.urls import include, path
from two_factor.views import QRGeneratorView, SetupCompleteView

from . import account_views, security_views, views

# django-two-factor-auth reverses its pages by these names (namespace "two_factor").
two_factor_urls = (
    [
        path("accounts/login/", account_views.StaffLoginView.as_view(), name="login"),
        path("accounts/2fa/setup/", account_views.StaffSetupView.as_view(), name="setup"),
        path("accounts/2fa/qrcode/", QRGeneratorView.as_view(), name="qr"),
        path("accounts/2fa/setup/complete/", SetupCompleteView.as_view(), name="setup_complete"),
        path("accounts/2fa/recovery-codes/", account_views.RecoveryCodesView.as_view(), name="backup_tokens"),
    ],
    "two_factor",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", account_views.StaffLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include(two_factor_urls)),
    path("accounts/pin/", views.witness_pin, name="witness-pin"),
    path("clinic/switch/", views.switch_clinic, name="switch-clinic"),
    path("clinic/security/", security_views.staff_security_page, name="staff-security"),
    path(
        "clinic/security/<int:user_id>/<slug:action>/", security_views.staff_security_action, name="staff-security-act"
    ),
    path("clinics/<int:pk>/", views.clinic_detail, name="clinic-detail"),
]
