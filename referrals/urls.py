from django.urls import path

from . import onward_views, views

urlpatterns = [
    path("", views.referral_list, name="referral-list"),
    path("sign-off/", views.referral_sign_off_list, name="referral-sign-off-list"),
    path("new/", views.referral_create, name="referral-create"),
    path("eligibility/", views.eligibility_settings, name="referral-eligibility"),
    # Onward referrals to partner agencies; a patient's: onward/?patient=<id>
    path("onward/", onward_views.onward_referral_list, name="onward-referral-list"),
    path("onward/new/", onward_views.onward_referral_create, name="onward-referral-create"),
    path("onward/failed-deliveries/", onward_views.onward_failed_deliveries, name="onward-failed-deliveries"),
    path(
        "onward/deliveries/<int:message_id>/resend/",
        onward_views.onward_delivery_resend,
        name="onward-delivery-resend",
    ),
    path("onward/<int:pk>/", onward_views.onward_referral_detail_view, name="onward-referral-detail"),
    path("onward/<int:pk>/<slug:action>/", onward_views.onward_referral_action, name="onward-referral-action"),
    path("<int:pk>/", views.referral_detail_view, name="referral-detail"),
    path(
        "<int:pk>/<slug:action>/",
        views.referral_action,
        name="referral-action",
    ),
]
