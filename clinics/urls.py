from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .forms import LoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/2fa/setup/", views.two_factor_setup, name="two-factor-setup"),
    path("accounts/2fa/verify/", views.two_factor_verify, name="two-factor-verify"),
    path("accounts/pin/", views.witness_pin, name="witness-pin"),
    path("clinic/switch/", views.switch_clinic, name="switch-clinic"),
    path("clinics/<int:pk>/", views.clinic_detail, name="clinic-detail"),
]
