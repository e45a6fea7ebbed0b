from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="reports-dashboard"),
    path("statistics.csv", views.dashboard_csv, name="reports-csv"),
    path("costs/", views.unit_costs, name="reports-costs"),
    path("ndtms.csv", views.ndtms_csv, name="reports-ndtms"),
]
