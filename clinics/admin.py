from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import Clinic, User


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "time_zone", "bank_holidays", "is_active"]
    search_fields = ["name", "code"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Clinics", {"fields": ("clinics",)}))
    filter_horizontal = ("groups", "user_permissions", "clinics")
    list_filter = ("groups", "clinics", "is_active", "is_superuser")
