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
    """The clinic the user is working in: chosen in the header, else the last they worked in, else their first."""
    chosen = request.session.get(SESSION_KEY) or getattr(request.user, "last_clinic_id", None)
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
    timeout costs nothing. A request marked `X-Background-Poll` (the dosing board's refresh)
    is not use: it never renews, so an unattended board signs out like any page. Every answer
    to a signed-in request says how many seconds of idleness are left (`Session-Idle-Seconds`),
    for the board's warning two minutes before.
    """

    RENEW_AFTER_SECONDS = 60
    POLL_HEADER = "X-Background-Poll"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        left = None
        if request.user.is_authenticated:
            now = int(time.time())
            renewed_at = request.session.get("_renewed_at", 0)
            in_use = request.headers.get(self.POLL_HEADER) != "1"
            if in_use and now - renewed_at >= self.RENEW_AFTER_SECONDS:
                request.session["_renewed_at"] = renewed_at = now  # marks the session modified: saved with a new expiry
            if renewed_at:
                left = max(0, renewed_at + settings.SESSION_COOKIE_AGE - now)
        response = self.get_response(request)
        if left is not None:
            response["Session-Idle-Seconds"] = str(left)
        return response


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


def _exempt_paths() -> set[str]:
    return {reverse("login"), reverse("logout"), reverse("two_factor:setup")}


# Reachable without signing in at all, so nothing to protect by asking for a second factor:
# static files (WhiteNoise answers them before this middleware anyway) and the load balancer's health check.
PUBLIC_PREFIXES = ("/static/", "/health/")


class TwoFactorRequiredMiddleware:
    """With STAFF_2FA_REQUIRED, a password alone opens nothing but the second-factor step.

    The exempt list is exactly: sign-in (whose wizard asks for the code), enrolment (which the
    view allows only while the account has no device) and sign-out, plus the public prefixes.
    Everything else, staff API included, needs a verified session. Partner API calls carry an
    OAuth2 token and no session, so they never meet this check. /admin/ asks for the second factor
    whatever this setting says (hat_clinic/urls.py).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            settings.STAFF_2FA_REQUIRED
            and user.is_authenticated
            and not user.is_verified()
            and request.path not in _exempt_paths()
            and not request.path.startswith(PUBLIC_PREFIXES)
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
            # With a device: the sign-in asks for its code. Without: enrol one first.
            step = "login" if user_has_device(user, confirmed=True) else "two_factor:setup"
            return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
