"""Patient pages. Thin: each finds the patient within the user's clinics, calls a selector or a service, renders.

Every page about one patient starts from `patients_for(user)` (another clinic's patient is
404, before any capability check, so outsiders learn nothing) and each read of a record or a
part of it writes one access-log entry (SPEC 8). Writes are in the change history instead.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from clinics.access import has_capability, staff_only
from clinics.roles import Capability

from . import record_links, selectors, services
from .forms import (
    ConsentForm,
    DischargeForm,
    OutcomeInterviewForm,
    PatientDetailsForm,
    PatientSearchForm,
    PhotoForm,
    ReadmitForm,
    RegisterPatientForm,
)
from .models import AccessLogEntry, AccessPart, ConsentKind, Patient

PAGE_SIZE = 25
UI = AccessLogEntry.Channel.UI
# The dosing board shows every patient's photo and is loaded afresh after each dose action; the
# photo is never cached (no-store), so each load fetches them all again. One entry per member of
# staff, patient and quarter hour still says who saw the photo when, without burying the rest.
PHOTO_LOG_INTERVAL = timedelta(minutes=15)


def _patient(request, pk: int, *, part: AccessPart | None = None, needs: tuple[Capability, ...] = ()) -> Patient:
    """The patient if this user may see them (else 404), then the capability the page needs (else 403)."""
    patient = get_object_or_404(selectors.patients_for(request.user).select_related("clinic", "keyworker"), pk=pk)
    if needs and not any(has_capability(request.user, capability) for capability in needs):
        raise PermissionDenied(f"This page needs the '{needs[0].label}' permission.")
    if part is not None and request.method == "GET":
        services.access_log_record(user=request.user, patient=patient, what=part, channel=UI)
    return patient


def _posted(request):
    """The submitted data, or None for a GET (an empty POST is still a submission)."""
    return request.POST if request.method == "POST" else None


def _today(request):
    return timezone.localdate()  # the middleware activates the clinic's time zone


def _can(request) -> dict:
    user = request.user
    return {
        "can_handle": has_capability(user, Capability.HANDLE_REFERRALS),
        "can_manage": has_capability(user, Capability.MANAGE_CLINIC),
    }


@staff_only(Capability.VIEW_PATIENTS)
def patient_list(request):
    form = PatientSearchForm(request.GET or None)
    search = status = ""
    if form.is_valid():
        search, status = form.cleaned_data["q"], form.cleaned_data["status"]
    patients = selectors.patient_list(request.user, search=search, status=status)
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "patients/patient_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "searched": bool(search or status),
            **_can(request),
        },
    )


@staff_only(Capability.VIEW_PATIENTS)
def patient_detail(request, pk: int):
    patient = _patient(request, pk, part=AccessPart.RECORD)
    consent_history = list(selectors.consent_history(patient))
    return render(
        request,
        "patients/patient_detail.html",
        {
            "patient": patient,
            "episodes": selectors.episodes_of(patient),
            "consents": selectors.current_consents(patient, history=consent_history),
            "consent_history": consent_history,
            "interviews": selectors.outcome_interviews_of(patient),
            "top": selectors.top_schedule_for(patient, today=_today(request)),
            "changes": selectors.change_history(patient, limit=10),
            "record_links": record_links.links_for(request.user, patient),
            "record_panels": record_links.panels_for(request.user, patient),
            **_can(request),
        },
    )


@never_cache
@staff_only(Capability.VIEW_PATIENTS)
def patient_photo(request, pk: int):
    patient = _patient(request, pk)
    if not patient.photo:
        raise Http404("No photo")
    seen_lately = (
        selectors.access_log_of(patient)
        .filter(user=request.user, what=AccessPart.PHOTO, at__gt=timezone.now() - PHOTO_LOG_INTERVAL)
        .exists()
    )
    if not seen_lately:
        services.access_log_record(user=request.user, patient=patient, what=AccessPart.PHOTO, channel=UI)
    response = FileResponse(patient.photo.open("rb"), content_type="image/jpeg")
    # Only this signed-in member of staff may keep it, and not on disk (SPEC 8).
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = "inline"
    return response


@staff_only(Capability.VIEW_PATIENTS)
def patient_photo_upload(request, pk: int):
    patient = _patient(
        request, pk, part=AccessPart.DETAILS, needs=(Capability.HANDLE_REFERRALS, Capability.MANAGE_CLINIC)
    )
    form = PhotoForm(_posted(request), request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_photo_set(patient=patient, upload=form.cleaned_data["photo"], set_by=request.user)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Photo saved.")
            return redirect("patient-detail", pk=patient.pk)
    return render(request, "patients/photo_form.html", {"patient": patient, "form": form})


@staff_only(Capability.HANDLE_REFERRALS)
def patient_register(request):
    clinic = request.clinic
    initial = {"started_on": _today(request), "keyworker": request.user}
    form = RegisterPatientForm(_posted(request), clinic=clinic, initial=initial)
    duplicates = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        duplicates = services.duplicates_check(
            user=request.user,
            channel=UI,
            nhs_number=data["nhs_number"],
            given_name=data["given_name"],
            family_name=data["family_name"],
            date_of_birth=data["date_of_birth"],
        )
        try:
            patient = services.patient_register(
                clinic=clinic,
                started_on=data["started_on"],
                registered_by=request.user,
                allow_duplicates=data["confirm_duplicates"],
                **form.details(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"{patient.display_name} is registered at {clinic.name}.")
            return redirect("patient-detail", pk=patient.pk)
    return render(request, "patients/patient_register.html", {"form": form, "duplicates": duplicates, "clinic": clinic})


@staff_only(Capability.VIEW_PATIENTS)
def patient_edit(request, pk: int):
    patient = _patient(request, pk, part=AccessPart.DETAILS, needs=(Capability.HANDLE_REFERRALS,))
    form = PatientDetailsForm(_posted(request), instance=patient, clinic=patient.clinic)
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(patient=patient, updated_by=request.user, **form.details())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Details saved.")
            return redirect("patient-detail", pk=patient.pk)
    return render(request, "patients/patient_edit.html", {"patient": patient, "form": form})


@staff_only(Capability.VIEW_PATIENTS)
def patient_discharge(request, pk: int):
    patient = _patient(request, pk, part=AccessPart.EPISODES, needs=(Capability.HANDLE_REFERRALS,))
    form = DischargeForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_discharge(
                patient=patient,
                reason=form.cleaned_data["reason"],
                ended_on=form.cleaned_data["ended_on"],
                notes=form.cleaned_data["notes"],
                discharged_by=request.user,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "The patient is discharged and their episode is closed.")
            return redirect("patient-detail", pk=patient.pk)
    return render(
        request,
        "patients/episode_form.html",
        {"patient": patient, "form": form, "title": "Discharge", "button": "Discharge", "danger": True},
    )


@staff_only(Capability.VIEW_PATIENTS)
def patient_readmit(request, pk: int):
    patient = _patient(request, pk, part=AccessPart.EPISODES, needs=(Capability.HANDLE_REFERRALS,))
    form = ReadmitForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_readmit(
                patient=patient, started_on=form.cleaned_data["started_on"], readmitted_by=request.user
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "The patient is re-admitted: a new treatment episode is open.")
            return redirect("patient-detail", pk=patient.pk)
    return render(
        request,
        "patients/episode_form.html",
        {"patient": patient, "form": form, "title": "Re-admit", "button": "Re-admit", "danger": False},
    )


@staff_only(Capability.VIEW_PATIENTS)
def consent_new(request, pk: int):
    patient = _patient(request, pk, part=AccessPart.CONSENTS, needs=(Capability.HANDLE_REFERRALS,))
    partners = selectors.partners_for_consent(patient)
    form = ConsentForm(_posted(request), partners=partners, initial={"kind": request.GET.get("kind")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.consent_record(
                patient=patient,
                kind=data["kind"],
                partner=data["partner"] if data["kind"] == ConsentKind.DATA_SHARING else None,
                decision=data["decision"],
                notes=data["notes"],
                recorded_by=request.user,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Consent recorded. It takes effect now.")
            return redirect("patient-detail", pk=patient.pk)
    return render(
        request,
        "patients/consent_form.html",
        {"patient": patient, "form": form, "consents": selectors.current_consents(patient)},
    )


@staff_only(Capability.VIEW_PATIENTS)
def outcome_new(request, pk: int):
    patient = _patient(request, pk, part=AccessPart.OUTCOMES, needs=(Capability.HANDLE_REFERRALS,))
    form = OutcomeInterviewForm(_posted(request), initial={"interviewed_on": _today(request)})
    if request.method == "POST" and form.is_valid():
        try:
            services.outcome_interview_record(
                patient=patient,
                interviewed_on=form.cleaned_data["interviewed_on"],
                recorded_by=request.user,
                **form.answers(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Outcome interview saved.")
            return redirect("patient-detail", pk=patient.pk)
    return render(request, "patients/outcome_form.html", {"patient": patient, "form": form})


@staff_only(Capability.VIEW_PATIENTS)
def patient_history(request, pk: int):
    patient = _patient(request, pk, part=AccessPart.HISTORY)
    return render(
        request, "patients/patient_history.html", {"patient": patient, "changes": selectors.change_history(patient)}
    )


@staff_only(Capability.VIEW_PATIENTS)
def patient_access_log(request, pk: int):
    patient = _patient(request, pk, part=AccessPart.ACCESS_LOG, needs=(Capability.MANAGE_CLINIC,))
    page = Paginator(selectors.access_log_of(patient), 50).get_page(request.GET.get("page"))
    return render(request, "patients/access_log.html", {"patient": patient, "page": page})


@staff_only(Capability.HANDLE_REFERRALS)
def consents_to_renew(request):
    """The keyworker's work queue: patients in treatment without a live treatment consent, all their clinics."""
    return render(request, "patients/consents_to_renew.html", {"patients": selectors.consents_to_renew(request.user)})


@staff_only(Capability.HANDLE_REFERRALS)
def outcomes_due(request):
    everyone = request.GET.get("show") == "all"
    patients = selectors.outcomes_due(request.user, today=_today(request), keyworker=None if everyone else request.user)
    return render(
        request, "patients/outcomes_due.html", {"patients": patients, "everyone": everyone, "today": _today(request)}
    )
