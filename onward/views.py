"""Keyworkers' pages for onward referrals: a patient's list, making one, the detail with its timeline and
what the partner sees, and failed deliveries with Resend. Thin: services and selectors decide."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from clinics.access import staff_only
from clinics.parsing import parse_int
from clinics.roles import Capability
from deliveries.models import MessageStatus
from deliveries.registry import cancel_reason_for
from deliveries.selectors import failed_messages_for
from deliveries.services import resend
from patients.models import Patient

from . import services
from .forms import NoteForm, OnwardReferralForm, StatusForm, add_service_errors
from .models import OnwardReferral, OnwardStatus
from .reminders import REMINDER_KINDS
from .selectors import (
    deliveries_of,
    onward_referral_detail,
    partner_view,
    partners_with_consent,
    patient_for_onward_referrals,
    timeline_of,
)
from .selectors import (
    onward_referral_list as onward_referrals_listed,
)

STATUS_FILTERS = [("open", "Open"), *OnwardStatus.choices, ("all", "All")]
HANDLE = Capability.HANDLE_REFERRALS


def _patient(request, pk) -> Patient:
    try:
        return patient_for_onward_referrals(request.user, parse_int(pk, name="patient"))
    except (Patient.DoesNotExist, TypeError, ValueError):
        raise Http404("No such patient in your clinics.") from None


def _referral(request, pk: int) -> OnwardReferral:
    try:
        return onward_referral_detail(request.user, pk)
    except OnwardReferral.DoesNotExist:
        raise Http404("No such onward referral in your clinics.") from None


@staff_only(HANDLE, Capability.VIEW_REFERRALS)
def onward_referral_list(request):
    """url name: onward-referral-list; `?patient=<id>` for one patient's onward referrals."""
    patient = _patient(request, request.GET["patient"]) if request.GET.get("patient") else None
    status = request.GET.get("status") or ("all" if patient else "open")
    if status not in dict(STATUS_FILTERS):
        status = "open"
    referrals = onward_referrals_listed(
        request.user, clinic=request.clinic, patient=patient, status="" if status == "all" else status
    )
    page = Paginator(referrals, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "onward/onward_list.html",
        {
            "page": page,
            "patient": patient,
            "status": status,
            "status_filters": STATUS_FILTERS,
            # Issue 14 item 7: a user of several clinics sees which clinic each referral belongs to.
            "show_clinic": len(request.clinics) > 1,
        },
    )


@staff_only(HANDLE)
def onward_referral_create(request):
    patient = _patient(request, request.GET.get("patient") or request.POST.get("patient"))
    partners = partners_with_consent(patient)
    status = 200
    if request.method == "POST":
        form = OnwardReferralForm(request.POST, partners=partners)
        if form.is_valid():
            try:
                referral = services.onward_referral_create(
                    patient=patient, created_by=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"Onward referral {referral.reference} sent to {referral.partner.name}.")
                return redirect("onward-referral-detail", referral.pk)
        status = 400
    else:
        form = OnwardReferralForm(partners=partners, initial={"contact_route": patient.contact_route})
    return render(
        request,
        "onward/onward_form.html",
        {"form": form, "patient": patient, "partners": partners},
        status=status,
    )


def _detail(request, referral: OnwardReferral, *, status_form=None, note_form=None, status=200):
    messages_about = list(deliveries_of(referral))
    for message in messages_about:
        # A waiting reminder whose cause has gone (e.g. acknowledged since) will be dropped when due: say so.
        message.no_longer_due = cancel_reason_for(message) if message.status == MessageStatus.PENDING else None
    return render(
        request,
        "onward/onward_detail.html",
        {
            "referral": referral,
            "timeline": timeline_of(referral),
            "partner_sees": partner_view(referral),
            "deliveries": messages_about,
            "status_form": status_form or StatusForm(initial={"version": referral.version}),
            "note_form": note_form or NoteForm(),
            "finished": referral.is_finished,
            "patient_url": reverse("patient-detail", args=[referral.patient_id]),
        },
        status=status,
    )


@staff_only(HANDLE)
def onward_referral_detail_view(request, pk: int):
    return _detail(request, _referral(request, pk))


@staff_only(HANDLE)
@require_POST
def onward_referral_action(request, pk: int, action: str):
    referral = _referral(request, pk)
    if action == "status":
        form = StatusForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.onward_referral_change_status(
                    referral=referral,
                    status=data["status"],
                    by=request.user,
                    appointment_at=data["appointment_at"],
                    outcome=data["outcome"],
                    notes=data["notes"],
                    reason=data["notes"],
                    expected_version=data["version"],
                )
            except services.VersionMismatch:
                form.add_error(None, "Someone changed this referral while you were looking. Check it, then try again.")
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Status changed.")
                return redirect("onward-referral-detail", referral.pk)
        return _detail(request, _referral(request, pk), status_form=form, status=400)
    if action == "note":
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                services.onward_referral_add_note(referral=referral, by=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Note added.")
                return redirect("onward-referral-detail", referral.pk)
        return _detail(request, referral, note_form=form, status=400)
    raise Http404("No such action.")


@staff_only(HANDLE)
def onward_failed_deliveries(request):
    failed = failed_messages_for(request.user).filter(kind__in=REMINDER_KINDS)
    if request.clinic is not None:
        failed = failed.filter(clinic=request.clinic)
    failed = list(failed[:200])
    references = {m.payload.get("reference") for m in failed}
    by_reference = {r.reference: r for r in OnwardReferral.objects.filter(reference__in=references)}
    rows = [{"message": m, "referral": by_reference.get(m.payload.get("reference"))} for m in failed]
    return render(request, "onward/failed_deliveries.html", {"rows": rows})


@staff_only(HANDLE)
@require_POST
def onward_delivery_resend(request, message_id: int):
    message = failed_messages_for(request.user).filter(pk=message_id).first()
    if message is None:
        raise Http404("No such failed delivery in your clinics.")
    try:
        resend(message=message, resent_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"“{message.subject}” will be sent again now.")
    back = request.POST.get("next", "")
    # Only back to one of our own onward-referral pages: never an open redirect.
    return redirect(back if back.startswith("/referrals/onward/") else "onward-failed-deliveries")
