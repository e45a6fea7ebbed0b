from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Clinic, SecurityEvent, User
from .security import sign_in_unlock, two_factor_reset

# Authenticators are reset only through the audited action below, never edited or deleted as rows.
for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "time_zone", "bank_holidays", "is_active"]
    search_fields = ["name", "code"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Clinics", {"fields": ("clinics",)}))
    filter_horizontal = ("groups", "user_permissions", "clinics")
    list_filter = ("groups", "clinics", "is_active", "is_superuser")
    actions = ["reset_two_factor", "lift_sign_in_pause"]

    def _audited(self, request, queryset, service, done: str):
        for subject in queryset:
            try:
                service(actor=request.user, subject=subject, clinic=None)
            except PermissionDenied as refusal:
                self.message_user(request, f"{subject}: {refusal}", messages.ERROR)
            else:
                self.message_user(request, f"{subject}: {done}", messages.SUCCESS)

    @admin.action(description="Reset two-factor sign-in (lost phone; recorded)")
    def reset_two_factor(self, request, queryset):
        self._audited(request, queryset, two_factor_reset, "two-factor sign-in reset.")

    @admin.action(description="Lift the sign-in pause (recorded)")
    def lift_sign_in_pause(self, request, queryset):
        self._audited(request, queryset, sign_in_unlock, "sign-in pause lifted.")


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail of resets, unlocks and PIN lockouts."""

    list_display = ["at", "kind", "subject", "actor", "clinic", "detail"]
    list_filter = ["kind", "clinic"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
