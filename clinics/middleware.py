from django.utils import timezone

from .selectors import clinics_for

SESSION_KEY = "current_clinic_id"


def current_clinic(request):
    """The clinic the user is working in: the one chosen in the header, else their first."""
    clinics = clinics_for(request.user)
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        clinic = clinics.filter(pk=chosen).first()
        if clinic is not None:
            return clinic
    return clinics.first()


class CurrentClinicMiddleware:
    """Sets `request.clinic` (None when signed out) and shows times in that clinic's time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.clinic = current_clinic(request) if request.user.is_authenticated else None
        if request.clinic is not None:
            timezone.activate(request.clinic.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
