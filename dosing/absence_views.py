"""The planned-absences page of a patient (S7): list and record. Thin: the service decides.

Its own module so the dosing views file (board, slots, prescriptions) stays as it was.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from clinics.access import has_capability, staff_only
from clinics.roles import Capability
from patients.models import AccessLogEntry, AccessPart
from patients.selectors import patients_for
from patients.services import access_log_record

from . import selectors
from .forms import AbsenceForm
from .models import DosingSettings
from .services.absences import absence_record


def may_record_absences(user) -> bool:
    return has_capability(user, Capability.HANDLE_REFERRALS) or has_capability(user, Capability.PRESCRIBE)


@staff_only(Capability.VIEW_PATIENTS)
def patient_absences(request, pk: int):
    patient = get_object_or_404(patients_for(request.user).select_related("clinic"), pk=pk)
    if request.method == "GET":
        access_log_record(
            user=request.user, patient=patient, what=AccessPart.PRESCRIPTIONS, channel=AccessLogEntry.Channel.UI
        )
    may_record = may_record_absences(request.user)
    form = AbsenceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not may_record:
            raise PermissionDenied("Only keyworkers and prescribers record planned absences.")
        if form.is_valid():
            try:
                absence_record(patient=patient, recorded_by=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, f"Absence recorded for {patient.display_name}; their slots are cancelled.")
                return redirect("dosing-patient-absences", pk=patient.pk)
    return render(
        request,
        "dosing/patient_absences.html",
        {
            "patient": patient,
            "absences": selectors.absences_of(patient),
            "form": form,
            "may_record": may_record,
            "review_days": DosingSettings.for_clinic(patient.clinic).absence_review_days,
        },
        status=400 if form.errors else 200,
    )
