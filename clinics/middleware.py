import time
from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django_otp import user_has_device

from .selectors import clinic_list

SESSION_KEY = "current_clinic_id"


def current_clinic(request, clinics: list):
    """The clinic the user is working in: the one chosen in the header, else their first."""
    chosen = request.session.get(SESSION_KEY)
    return next((clinic for clinic in clinics if clinic.pk == chosen), clinics[0] if clinics else None)


class ServerTimingMiddleware:
    """`Server-Timing: app;dur=<ms>` on every response: the time the application took, outermost.

    Shown by browsers' developer tools; the benchmark reads it to report server time (what the
    speed targets of issues 4 and 7 are about) beside the time the client saw.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response


class SessionIdleMiddleware:
    """Keep a signed-in session alive while it is used: renew its expiry at most once a minute.

    Saving the session on every request (SESSION_SAVE_EVERY_REQUEST) would write to the
    database on every board poll of every tablet; a minute's slack on a 30-minute idle
    timeout costs nothing.
    """

    RENEW_AFTER_SECONDS = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            if now - request.session.get("_renewed_at", 0) >= self.RENEW_AFTER_SECONDS:
                request.session["_renewed_at"] = now  # marks the session modified: saved with a new expiry
        return self.get_response(request)


class CurrentClinicMiddleware:
    """Sets `request.clinics` (the user's clinics, one query) and `request.clinic` (the one they work in).

    Both are empty/None when signed out. Times are shown in that clinic's time zone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.clinics = clinic_list(request.user)
        request.clinic = current_clinic(request, request.clinics)
        if request.clinic is not None:
            timezone.activate(request.clinic.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


# Paths a signed-in member of staff may reach before giving their second factor.
TWO_FACTOR_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/health/", "/o/", "/api/v1/partner/")


class TwoFactorRequiredMiddleware:
    """With STAFF_2FA_REQUIRED, a password alone is not enough: staff enrol a TOTP device, then verify.

    Partner API paths are exempt: partners authenticate with OAuth2 client credentials, not sessions.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            settings.STAFF_2FA_REQUIRED
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(TWO_FACTOR_EXEMPT_PREFIXES)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "type": "about:blank",
                        "title": "Forbidden",
                        "status": 403,
                        "detail": "Two-factor verification is required: sign in again with your authenticator code.",
                    },
                    status=403,
                    content_type="application/problem+json",
                )
            step = "two-factor-verify" if user_has_device(user) else "two-factor-setup"
            return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
