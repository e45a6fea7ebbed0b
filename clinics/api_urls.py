from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import ClinicViewSet, MeView

router = SimpleRouter()
router.register("clinics", ClinicViewSet, basename="api-clinic")

urlpatterns = [path("me/", MeView.as_view(), name="api-me"), *router.urls]
