from django.conf import settings

from .navigation import items_for
from .roles import Capability
from .selectors import clinics_for, roles_of
from .work_queues import badges_for


def clinic_context(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if settings.STAFF_2FA_REQUIRED and not user.is_verified():
        return {}  # no navigation or clinic names before the second factor
    return {
        "current_clinic": getattr(request, "clinic", None),
        "my_clinics": getattr(request, "clinics", None) or list(clinics_for(user)),
        "my_roles": sorted(roles_of(user), key=lambda role: role.label),
        "nav_items": items_for(user),
        # A witness PIN is for those who witness doses or stock movements, not keyworkers or commissioners.
        "may_witness": user.has_perm(Capability.RECORD_DOSES.perm) or user.has_perm(Capability.MANAGE_CLINIC.perm),
        "header_badges": badges_for(user),
    }
