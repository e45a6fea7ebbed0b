from django.urls import path

from . import views

# /referrals/onward/ belongs to the onward app (hat_clinic/urls.py mounts it before this one).
urlpatterns = [
    path("", views.referral_list, name="referral-list"),
    path("sign-off/", views.referral_sign_off_list, name="referral-sign-off-list"),
    path("new/", views.referral_create, name="referral-create"),
    path("eligibility/", views.eligibility_settings, name="referral-eligibility"),
    path("<int:pk>/", views.referral_detail_view, name="referral-detail"),
    path(
        "<int:pk>/<slug:action>/",
        views.referral_action,
        name="referral-action",
    ),
]
