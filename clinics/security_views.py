"""The clinic manager's page for their staff's sign-in: reset a lost authenticator, lift a pause or a PIN lock."""

from datetime import timedelta

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .access import staff_only
from .roles import Capability
from .security import sign_in_unlock, two_factor_reset, witness_pin_unlock
from .selectors import security_events_for, staff_of_clinic, staff_security

ACTIONS = {
    "reset-two-factor": (
        two_factor_reset,
        "Two-factor sign-in of {name} is reset: they set up their app again when they next sign in.",
    ),
    "lift-sign-in-pause": (sign_in_unlock, "{name} can sign in again."),
    "lift-pin-lock": (witness_pin_unlock, "The witness PIN of {name} works again."),
}


@staff_only(Capability.MANAGE_CLINIC)
def staff_security_page(request):
    now = timezone.now()
    rows = staff_security(
        request.clinic,
        failure_limit=settings.AXES_FAILURE_LIMIT,
        since=now - (get_cool_off(request) or timedelta(0)),
        now=now,
    )
    context = {"rows": rows, "events": security_events_for(request.clinic)}
    return render(request, "clinics/staff_security.html", context)


@require_POST
@staff_only(Capability.MANAGE_CLINIC)
def staff_security_action(request, user_id: int, action: str):
    if action not in ACTIONS:
        raise Http404("No such action.")
    subject = get_object_or_404(staff_of_clinic(request.clinic), pk=user_id)
    service, done = ACTIONS[action]
    try:
        service(actor=request.user, subject=subject, clinic=request.clinic)
    except PermissionDenied as refusal:
        messages.error(request, str(refusal))
        return redirect("staff-security")
    messages.success(request, done.format(name=subject))
    return redirect("staff-security")
