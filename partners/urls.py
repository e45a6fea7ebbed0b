from django.urls import path

from . import views

urlpatterns = [
    path("", views.partner_list, name="partner-list"),
    path("new/", views.partner_create, name="partner-create"),
    path("<int:pk>/", views.partner_detail, name="partner-detail"),
    path("<int:pk>/edit/", views.partner_edit, name="partner-edit"),
    path("<int:pk>/webhook-secret/", views.partner_webhook_secret, name="partner-webhook-secret"),
    path("<int:pk>/clients/new/", views.client_create, name="partner-client-create"),
    path("<int:pk>/clients/<int:client_pk>/revoke/", views.client_revoke, name="partner-client-revoke"),
]
