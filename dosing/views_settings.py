"""The clinic manager's dosing settings page: the numbers in force, a pending change, the history. Thin."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone

from clinics.access import staff_only
from clinics.roles import Capability

from . import selectors, services
from .forms import DosingSettingsForm, LicenceForm
from .models import DosingSettings
from .rules import SETTINGS_FIELDS, hhmm
from .services.settings import dosing_settings_change


@staff_only(Capability.MANAGE_CLINIC)
def clinic_settings(request):
    """The current clinic's settings; a change during a session waits for the next session (see the service)."""
    clinic = request.clinic
    current = DosingSettings.for_clinic(clinic)
    form = DosingSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={name: getattr(current, name) for name in SETTINGS_FIELDS},
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = dosing_settings_change(clinic=clinic, by=request.user, values=form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            if saved.pending_from:
                when = hhmm(saved.pending_from, clinic.zone)
                messages.success(request, f"Saved. A session is running: the change takes effect at {when}.")
            else:
                messages.success(request, "Saved. The change takes effect from the next session.")
            return redirect("dosing-settings")
    context = {"clinic": clinic, "settings": current, "form": form, "history": selectors.settings_history(current)}
    return render(request, "dosing/settings.html", context, status=400 if form.errors else 200)


@staff_only(Capability.MANAGE_CLINIC)
def licences(request):
    """S14: the clinic's prescriber licences, newest first, each with who recorded it; record a new one."""
    clinic = request.clinic
    form = LicenceForm(
        request.POST if request.method == "POST" else None,
        staff=selectors.clinic_staff(clinic),
        prescribers=selectors.prescribers_of(clinic),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.licence_record(clinic=clinic, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Licence recorded.")
            return redirect("dosing-licences")
    today = timezone.localdate(timezone.now(), clinic.zone)
    context = {"clinic": clinic, "form": form, "licences": selectors.licences_of(clinic), "today": today}
    return render(request, "dosing/licences.html", context, status=400 if form.errors else 200)
