from django.urls import path

from . import views
from .diversion import views as diversion_views

# Mounted at /referrals/onward/ (hat_clinic/urls.py), where these pages always were. A patient's: ?patient=<id>
urlpatterns = [
    path("", views.onward_referral_list, name="onward-referral-list"),
    path("new/", views.onward_referral_create, name="onward-referral-create"),
    path("failed-deliveries/", views.onward_failed_deliveries, name="onward-failed-deliveries"),
    path(
        "deliveries/<int:message_id>/resend/",
        views.onward_delivery_resend,
        name="onward-delivery-resend",
    ),
    # Diversion contracts (issue 16): a patient's: diversion/?patient=<id>
    path("diversion/", diversion_views.diversion_contract_list, name="diversion-contract-list"),
    path("diversion/new/", diversion_views.diversion_contract_create, name="diversion-contract-create"),
    path("diversion/<int:pk>/end/", diversion_views.diversion_contract_end, name="diversion-contract-end"),
    path("<int:pk>/", views.onward_referral_detail_view, name="onward-referral-detail"),
    path("<int:pk>/<slug:action>/", views.onward_referral_action, name="onward-referral-action"),
]
