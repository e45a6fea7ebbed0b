"""Keyworker pages for diversion contracts: a patient's contracts, record one, end one. Thin."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from clinics.access import staff_only
from clinics.parsing import parse_int
from clinics.roles import Capability
from patients.models import Patient

from ..models import DiversionContract
from ..selectors import patient_for_onward_referrals
from . import services
from .forms import DiversionContractForm, EndContractForm
from .selectors import contracts_of_patient, local_today, monday_of, week_summary

HANDLE = Capability.HANDLE_REFERRALS


def _add_errors(form, error: ValidationError) -> None:
    """The service's messages name their field ("End date: ..."); next to the field, and in the summary
    that adds the label itself, the name is said once."""
    named = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for name, sentences in named.items():
        field = form.fields.get(name) if name else None
        label = str(form[name].label) if field is not None else ""
        for message in sentences:
            if label and message.lower().startswith(f"{label.lower()}: "):
                message = message[len(label) + 2 :]
                message = message[:1].upper() + message[1:]
            form.add_error(name if field is not None else None, message)


def _patient(request, pk) -> Patient:
    try:
        return patient_for_onward_referrals(request.user, parse_int(pk, name="patient"))
    except (Patient.DoesNotExist, TypeError, ValueError):
        raise Http404("No such patient in your clinics.") from None


def _rows(request, patient):
    rows = []
    for contract in contracts_of_patient(request.user, patient):
        this_week = None
        if not contract.is_ended and contract.episode.ended_on is None:
            monday = monday_of(local_today(contract.clinic))
            if contract.starts_on <= monday + timedelta(days=6) and monday <= contract.ends_on:
                this_week = week_summary(contract, monday)
        rows.append(
            {"contract": contract, "this_week": this_week, "end_form": EndContractForm(prefix=f"c{contract.pk}")}
        )
    return rows


@staff_only(HANDLE)
def diversion_contract_list(request):
    """url name: diversion-contract-list; ?patient=<id>."""
    patient = _patient(request, request.GET.get("patient"))
    return render(request, "onward/diversion_list.html", {"patient": patient, "rows": _rows(request, patient)})


@staff_only(HANDLE)
def diversion_contract_create(request):
    patient = _patient(request, request.GET.get("patient") or request.POST.get("patient"))
    status = 200
    if request.method == "POST":
        form = DiversionContractForm(request.POST, clinic=patient.clinic)
        if form.is_valid():
            try:
                contract = services.diversion_contract_record(
                    patient=patient, created_by=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(
                    request, f"Diversion contract {contract.reference} recorded with {contract.partner.name}."
                )
                return redirect(f"{reverse('diversion-contract-list')}?patient={patient.pk}")
        status = 400
    else:
        form = DiversionContractForm(clinic=patient.clinic)
    purpose = services.SHARING_PURPOSE.format(partner="The partner")
    return render(
        request, "onward/diversion_form.html", {"form": form, "patient": patient, "purpose": purpose}, status=status
    )


@require_POST
@staff_only(HANDLE)
def diversion_contract_end(request, pk: int):
    contract = DiversionContract.objects.filter(pk=pk, clinic__in=request.clinics).first()
    if contract is None:
        raise Http404("No such diversion contract in your clinics.")
    form = EndContractForm(request.POST, prefix=f"c{contract.pk}")
    if form.is_valid():
        try:
            services.diversion_contract_end(contract=contract, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Diversion contract {contract.reference} ended; the partner no longer sees it.")
            return redirect(f"{reverse('diversion-contract-list')}?patient={contract.patient_id}")
    rows = _rows(request, contract.patient)
    for row in rows:
        if row["contract"].pk == contract.pk:
            row["end_form"] = form
    return render(request, "onward/diversion_list.html", {"patient": contract.patient, "rows": rows}, status=400)
