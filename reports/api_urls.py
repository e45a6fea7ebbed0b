from django.urls import path

from . import api

urlpatterns = [
    path("stats/", api.StatisticsView.as_view(), name="api-stats"),
]
