from django.urls import path

from . import absence_views, views, views_settings

urlpatterns = [
    path("board/", views.board, name="dosing-board"),
    path("board/rows/", views.board_rows, name="dosing-board-rows"),
    path("slots/<int:pk>/", views.slot_detail, name="dosing-slot"),
    path("slots/<int:pk>/arrive/", views.arrive, name="dosing-arrive"),
    path("slots/<int:pk>/check/", views.check, name="dosing-check"),
    path("slots/<int:pk>/dose/", views.administer, name="dosing-administer"),
    path("slots/<int:pk>/refuse/", views.refuse, name="dosing-refuse"),
    path("slots/<int:pk>/withhold/", views.withhold, name="dosing-withhold"),
    path("administrations/<int:pk>/sign-out/", views.sign_out, name="dosing-sign-out"),
    path("administrations/<int:pk>/adverse-event/", views.adverse_event, name="dosing-adverse-event"),
    path("administrations/<int:pk>/correct/", views.correct, name="dosing-correct"),
    path("patients/<int:pk>/prescriptions/", views.patient_prescriptions, name="dosing-patient-prescriptions"),
    path("patients/<int:pk>/prescriptions/new/", views.prescription_new, name="dosing-prescription-new"),
    path("prescriptions/<int:pk>/change/", views.prescription_change, name="dosing-prescription-change"),
    path("prescriptions/<int:pk>/stop/", views.prescription_stop, name="dosing-prescription-stop"),
    path("patients/<int:pk>/history/", views.patient_history, name="dosing-patient-history"),
    path("holds/", views.holds, name="dosing-holds"),
    path("holds/<int:pk>/", views.hold_clear, name="dosing-hold-clear"),
    path("review/reductions/", views.review_list, {"kind": "reductions"}, name="dosing-review-reductions"),
    path("review/titrations/", views.review_list, {"kind": "titrations"}, name="dosing-review-titrations"),
    path("review/licences/", views.review_list, {"kind": "licences"}, name="dosing-review-licences"),
    path("alerts/", views.alerts, name="dosing-alerts"),
    path("settings/", views_settings.clinic_settings, name="dosing-settings"),
    path("licences/", views_settings.licences, name="dosing-licences"),
    path("alerts/<int:pk>/read/", views.alert_read, name="dosing-alert-read"),
    path("patients/<int:pk>/absences/", absence_views.patient_absences, name="dosing-patient-absences"),
]
