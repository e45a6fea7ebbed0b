from django.urls import path

from . import absence_api, api, api_settings

urlpatterns = [
    path("dosing/board/", api.BoardView.as_view(), name="api-dosing-board"),
    path("dosing/slots/<int:pk>/", api.SlotDetailView.as_view(), name="api-dosing-slot"),
    path("dosing/alerts/", api.AlertListView.as_view(), name="api-dosing-alerts"),
    path("dosing/alerts/<int:pk>/read/", api.AlertReadView.as_view(), name="api-dosing-alert-read"),
    path("dosing/slots/<int:pk>/arrival/", api.ArriveView.as_view(), name="api-dosing-arrive"),
    path("dosing/slots/<int:pk>/checks/", api.CheckView.as_view(), name="api-dosing-check"),
    path("dosing/slots/<int:pk>/administration/", api.AdministerView.as_view(), name="api-dosing-administer"),
    path("dosing/slots/<int:pk>/refusal/", api.RefuseView.as_view(), name="api-dosing-refuse"),
    path("dosing/slots/<int:pk>/withholding/", api.WithholdView.as_view(), name="api-dosing-withhold"),
    path("dosing/administrations/<int:pk>/sign-out/", api.SignOutView.as_view(), name="api-dosing-sign-out"),
    path("dosing/administrations/<int:pk>/corrections/", api.CorrectionView.as_view(), name="api-dosing-correct"),
    path(
        "dosing/administrations/<int:pk>/adverse-events/",
        api.AdverseEventView.as_view(),
        name="api-dosing-adverse-event",
    ),
    path("dosing/patients/<int:pk>/history/", api.PatientHistoryView.as_view(), name="api-dosing-patient-history"),
    path("dosing/holds/", api.HoldListView.as_view(), name="api-dosing-holds"),
    path(
        "dosing/clinics/<int:clinic_id>/settings/",
        api_settings.DosingSettingsView.as_view(),
        name="api-dosing-settings",
    ),
    path(
        "dosing/clinics/<int:clinic_id>/licences/",
        api_settings.LicenceListView.as_view(),
        name="api-dosing-licences",
    ),
    path("dosing/holds/<int:pk>/clear/", api.ClearHoldView.as_view(), name="api-dosing-clear-hold"),
    path("dosing/prescriptions/", api.PrescriptionListView.as_view(), name="api-dosing-prescriptions"),
    path(
        "dosing/prescriptions/<int:pk>/versions/",
        api.PrescriptionVersionView.as_view(),
        name="api-dosing-prescription-version",
    ),
    path(
        "dosing/prescriptions/<int:pk>/stop/", api.PrescriptionStopView.as_view(), name="api-dosing-prescription-stop"
    ),
    path("dosing/absences/", absence_api.AbsenceListView.as_view(), name="api-dosing-absences"),
]
