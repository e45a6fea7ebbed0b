"""Register pages. Thin: find the register within the user's clinics (else 404), check the capability
(else 403), call a selector or a service, render.

Nurses and prescribers (RECORD_DOSES) and clinic managers see the registers, record waste,
stock checks and corrections; clinic managers (MANAGE_CLINIC) also create registers, receive,
destroy and return stock, and close discrepancies. Commissioners see none of it.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from clinics.access import has_capability, staff_only
from clinics.parsing import query_int

from . import selectors, services
from .forms import (
    CloseDiscrepancyForm,
    CorrectionForm,
    DestructionForm,
    PeriodForm,
    ReceiptForm,
    RegisterCreateForm,
    ReturnForm,
    StockCheckForm,
    WasteForm,
)
from .models import DiscrepancyStatus, Register


def _require(request, capabilities) -> None:
    if not any(has_capability(request.user, capability) for capability in capabilities):
        raise PermissionDenied("This page is for clinical staff and clinic managers who keep the CD register.")


def _register(request, pk: int, needs=services.RECORDERS) -> Register:
    """The register if it is in one of this user's clinics (else 404), then the capability (else 403)."""
    register = get_object_or_404(selectors.registers_for(request.user), pk=pk)
    _require(request, needs)
    return register


def _posted(request):
    return request.POST if request.method == "POST" else None


def _can(request) -> dict:
    return {
        "can_manage": has_capability(request.user, services.MANAGERS[0]),
        "can_record": any(has_capability(request.user, c) for c in services.RECORDERS),
    }


@staff_only()
def register_list(request):
    _require(request, services.RECORDERS)
    registers = selectors.registers_of_clinic(request.user, request.clinic)
    open_discrepancies = selectors.discrepancies_for(
        request.user, clinic=request.clinic, status=DiscrepancyStatus.OPEN
    ).count()
    return render(
        request,
        "cd_register/register_list.html",
        {"registers": registers, "clinic": request.clinic, "open_discrepancies": open_discrepancies, **_can(request)},
    )


@staff_only()
def register_create(request):
    _require(request, services.MANAGERS)
    form = RegisterCreateForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            register = services.register_create(clinic=request.clinic, created_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Register opened: {register}. Record the first receipt to give it stock.")
            return redirect("cd-register-detail", pk=register.pk)
    return render(request, "cd_register/register_create.html", {"form": form, "clinic": request.clinic})


def _period(request, register: Register):
    """The dates shown: ?since=&until= (clinic-local), by default this month so far."""
    form = PeriodForm(request.GET or None)
    today = timezone.localdate(timezone=register.clinic.zone)
    since, until = today.replace(day=1), today
    if form.is_bound and form.is_valid():
        since = form.cleaned_data["since"] or since
        until = form.cleaned_data["until"] or until
    elif not form.is_bound:
        form = PeriodForm(initial={"since": since, "until": until})
    return form, since, until


@staff_only()
def register_detail(request, pk: int):
    register = _register(request, pk)
    period_form, since, until = _period(request, register)
    rows = list(selectors.register_rows(selectors.entries_of(register, since=since, until=until)))
    return render(
        request,
        "cd_register/register_detail.html",
        {
            "register": register,
            "rows": rows,
            "period_form": period_form,
            "since": since,
            "until": until,
            "query": request.GET.urlencode(),
            "stock_checks": selectors.stock_checks_of(register)[:5],
            **_can(request),
        },
    )


@staff_only()
def register_csv(request, pk: int):
    register = _register(request, pk)
    _, since, until = _period(request, register)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{selectors.csv_filename(register)}"'
    response["Cache-Control"] = "private, no-store"
    selectors.write_csv(response, register, selectors.entries_of(register, since=since, until=until))
    return response


def _entry_page(request, pk: int, *, form_class, needs, record, title: str, intro: str, done: str, button: str):
    """One form per kind of movement: the same shape, a different service."""
    register = _register(request, pk, needs)
    initial = {}
    if form_class is CorrectionForm and (entry := query_int(request.GET, "entry")) is not None:
        initial["corrects"] = entry
    form = form_class(_posted(request), register=register, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            record(register=register, form=form, user=request.user)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, done)
            return redirect("cd-register-detail", pk=register.pk)
    return render(
        request,
        "cd_register/entry_form.html",
        {"register": register, "form": form, "title": title, "intro": intro, "button": button},
    )


def _fields(form, *names) -> dict:
    return {name: form.cleaned_data[name] for name in names}


@staff_only()
def receipt_new(request, pk: int):
    def record(*, register, form, user):
        services.record_receipt(
            register=register,
            made_by=user,
            occurred_at=form.occurred(),
            **_fields(form, "quantity", "supplier_name", "supplier_address", "batch", "expires_on", "notes"),
            **form.witnessing(),
        )

    return _entry_page(
        request,
        pk,
        form_class=ReceiptForm,
        needs=services.MANAGERS,
        record=record,
        title="Record a receipt",
        intro="Stock delivered to the clinic. Count it with your witness before you enter it.",
        done="Receipt recorded.",
        button="Record receipt",
    )


@staff_only()
def waste_new(request, pk: int):
    def record(*, register, form, user):
        services.record_waste(
            register=register,
            made_by=user,
            occurred_at=form.occurred(),
            waste_mg=form.cleaned_data["waste_mg"],
            whole_units=form.cleaned_data["whole_units"] or 0,
            **_fields(form, "reason", "notes"),
            **form.witnessing(),
        )

    return _entry_page(
        request,
        pk,
        form_class=WasteForm,
        needs=services.RECORDERS,
        record=record,
        title="Record waste",
        intro="The unused part of an opened ampoule, or ampoules broken or spoiled, disposed of with a witness. "
        "Waste after a dose recorded on the dosing board is entered automatically.",
        done="Waste recorded.",
        button="Record waste",
    )


@staff_only()
def destruction_new(request, pk: int):
    def record(*, register, form, user):
        services.record_destruction(
            register=register,
            made_by=user,
            occurred_at=form.occurred(),
            **_fields(form, "quantity", "authorised_witness_name", "reason", "notes"),
            **form.witnessing(),
        )

    return _entry_page(
        request,
        pk,
        form_class=DestructionForm,
        needs=services.MANAGERS,
        record=record,
        title="Record destruction",
        intro="Stock destroyed (for example out of date) in front of an authorised witness.",
        done="Destruction recorded.",
        button="Record destruction",
    )


@staff_only()
def return_new(request, pk: int):
    def record(*, register, form, user):
        services.record_return(
            register=register,
            made_by=user,
            occurred_at=form.occurred(),
            **_fields(form, "quantity", "reason", "notes"),
            **form.witnessing(),
        )

    return _entry_page(
        request,
        pk,
        form_class=ReturnForm,
        needs=services.MANAGERS,
        record=record,
        title="Record a return to pharmacy",
        intro="Stock sent back to the pharmacy that supplied it.",
        done="Return recorded.",
        button="Record return",
    )


@staff_only()
def correction_new(request, pk: int):
    def record(*, register, form, user):
        services.record_correction(
            register=register,
            made_by=user,
            **_fields(form, "corrects", "quantity", "reason", "notes"),
            **form.witnessing(),
        )

    return _entry_page(
        request,
        pk,
        form_class=CorrectionForm,
        needs=services.RECORDERS,
        record=record,
        title="Record a correction",
        intro="Entries are never changed or removed. A correction is a new, dated entry that points at the "
        "entry it corrects and says why; the original stays as it was.",
        done="Correction recorded.",
        button="Record correction",
    )


@staff_only()
def stock_check_new(request, pk: int):
    register = _register(request, pk)
    form = StockCheckForm(_posted(request), register=register)
    if request.method == "POST" and form.is_valid():
        try:
            check = services.run_stock_check(
                register=register,
                counted=form.cleaned_data["counted"],
                checked_by=request.user,
                notes=form.cleaned_data["notes"],
                **form.witnessing(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            if check.difference:
                messages.warning(
                    request,
                    f"Discrepancy: counted {register.units(check.counted)}, the register says "
                    f"{register.units(check.computed_balance)}. The clinic manager has been asked to investigate.",
                )
            else:
                messages.success(request, f"Stock check recorded: the count matches the balance ({check.counted}).")
            return redirect("cd-register-detail", pk=register.pk)
    return render(
        request,
        "cd_register/stock_check_form.html",
        {"register": register, "form": form, "checks": selectors.stock_checks_of(register)[:20]},
    )


@staff_only()
def discrepancy_list(request):
    _require(request, services.RECORDERS)
    discrepancies = selectors.discrepancies_for(request.user, clinic=request.clinic)
    return render(
        request,
        "cd_register/discrepancy_list.html",
        {
            "discrepancies": discrepancies,
            "clinic": request.clinic,
            # "No discrepancies" means something only once the stock has been counted at least once.
            "stock_checked": selectors.any_stock_check(request.user, request.clinic),
            **_can(request),
        },
    )


@staff_only()
def discrepancy_close(request, pk: int):
    discrepancy = get_object_or_404(selectors.discrepancies_for(request.user), pk=pk)
    _require(request, services.MANAGERS)
    form = CloseDiscrepancyForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.close_discrepancy(
                discrepancy=discrepancy,
                investigation_note=form.cleaned_data["investigation_note"],
                closed_by=request.user,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Discrepancy closed. It stays on the list with your note.")
            return redirect("cd-discrepancy-list")
    return render(request, "cd_register/discrepancy_close.html", {"discrepancy": discrepancy, "form": form})
