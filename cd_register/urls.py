from django.urls import path

from . import views

urlpatterns = [
    path("", views.register_list, name="cd-register-list"),
    path("new/", views.register_create, name="cd-register-create"),
    path("discrepancies/", views.discrepancy_list, name="cd-discrepancy-list"),
    path("discrepancies/<int:pk>/close/", views.discrepancy_close, name="cd-discrepancy-close"),
    path("<int:pk>/", views.register_detail, name="cd-register-detail"),
    path("<int:pk>/register.csv", views.register_csv, name="cd-register-csv"),
    path("<int:pk>/receipt/", views.receipt_new, name="cd-register-receipt"),
    path("<int:pk>/waste/", views.waste_new, name="cd-register-waste"),
    path("<int:pk>/destruction/", views.destruction_new, name="cd-register-destruction"),
    path("<int:pk>/return/", views.return_new, name="cd-register-return"),
    path("<int:pk>/correction/", views.correction_new, name="cd-register-correction"),
    path("<int:pk>/stock-check/", views.stock_check_new, name="cd-register-stock-check"),
]
