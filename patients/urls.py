from django.urls import path

from . import views

urlpatterns = [
    path("", views.patient_list, name="patient-list"),
    path("new/", views.patient_register, name="patient-register"),
    path("outcomes/due/", views.outcomes_due, name="outcomes-due"),
    path("consents/to-renew/", views.consents_to_renew, name="consents-to-renew"),
    path("<int:pk>/", views.patient_detail, name="patient-detail"),
    path("<int:pk>/edit/", views.patient_edit, name="patient-edit"),
    path("<int:pk>/photo/", views.patient_photo, name="patient-photo"),
    path("<int:pk>/photo/upload/", views.patient_photo_upload, name="patient-photo-upload"),
    path("<int:pk>/discharge/", views.patient_discharge, name="patient-discharge"),
    path("<int:pk>/readmit/", views.patient_readmit, name="patient-readmit"),
    path("<int:pk>/consents/new/", views.consent_new, name="patient-consent-new"),
    path("<int:pk>/outcomes/new/", views.outcome_new, name="patient-outcome-new"),
    path("<int:pk>/history/", views.patient_history, name="patient-history"),
    path("<int:pk>/access-log/", views.patient_access_log, name="patient-access-log"),
]
