from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="reports-dashboard"),
    path("tables/", views.dashboard_tables, name="reports-tables"),
    path("statistics.csv", views.dashboard_csv, name="reports-csv"),
    path("costs/", views.unit_costs, name="reports-costs"),
    path("ndtms.csv", views.ndtms_csv, name="reports-ndtms"),
]
