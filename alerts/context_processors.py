from django.conf import settings

from .selectors import unacknowledged_alerts


def drug_alert_banner(request):
    """Every staff page: the current clinic's live alerts this user has not acknowledged (base.html)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if settings.STAFF_2FA_REQUIRED and not user.is_verified():
        return {}
    clinic = getattr(request, "clinic", None)
    if clinic is None:
        return {}
    return {"drug_alert_banner": unacknowledged_alerts(user, clinic)}
