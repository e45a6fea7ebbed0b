from django.urls import path

from . import views

urlpatterns = [
    path("", views.alert_list, name="alert-list"),
    path("publish/", views.alert_publish, name="alert-publish"),
    path("<int:pk>/", views.alert_detail_page, name="alert-detail"),
    path("<int:pk>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("<int:pk>/publish/", views.alert_publish_submitted, name="alert-publish-submitted"),
    path("<int:pk>/decline/", views.alert_decline, name="alert-decline"),
    path("<int:pk>/correct/", views.alert_correct, name="alert-correct"),
    path("<int:pk>/withdraw/", views.alert_withdraw, name="alert-withdraw"),
]
