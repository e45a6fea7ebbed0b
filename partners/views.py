"""Pages for clinic managers: partner organisations, their webhook secret and their API clients.

Secrets are shown once, on the page that answers the POST that made them (never stored in the
session, never in a URL), with caching forbidden.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clinics.access import staff_only
from clinics.roles import Capability
from clinics.selectors import clinics_for

from . import services
from .forms import PartnerClientForm, PartnerEditForm, PartnerForm
from .models import PartnerClient
from .selectors import client_clinics_for, clients_of, partners_for

manager_only = staff_only(Capability.MANAGE_CLINIC)


def _partner(request, pk):
    return get_object_or_404(partners_for(request.user), pk=pk)


@manager_only
def partner_list(request):
    return render(request, "partners/partner_list.html", {"partners": partners_for(request.user)})


@never_cache
@manager_only
def partner_create(request):
    my_clinics = clinics_for(request.user)
    current = getattr(request, "clinic", None)
    form = PartnerForm(request.POST or None, clinics=my_clinics, initial={"clinics": [current] if current else []})
    if request.method == "POST" and form.is_valid():
        try:
            partner, secret = services.partner_create(created_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"{partner.name} has been added.")
            if secret:
                return _show_webhook_secret(request, partner, secret)
            return redirect("partner-detail", pk=partner.pk)
    return render(request, "partners/partner_form.html", {"form": form, "heading": "Add a partner organisation"})


@manager_only
def partner_detail(request, pk: int):
    partner = _partner(request, pk)
    context = {
        "partner": partner,
        "clients": clients_of(partner, request.user),
        "may_change_shared": services.manages_every_clinic_of(request.user, partner),
    }
    return render(request, "partners/partner_detail.html", context)


@never_cache
@manager_only
def partner_edit(request, pk: int):
    partner = _partner(request, pk)
    my_clinics = clinics_for(request.user)
    initial = {
        "name": partner.name,
        "kind": partner.kind,
        "contact_email": partner.contact_email,
        "webhook_url": partner.webhook_url,
        "clinics": partner.clinics.filter(pk__in=my_clinics),
        "is_active": partner.is_active,
    }
    form = PartnerEditForm(request.POST or None, clinics=my_clinics, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        # A manager changes only their own clinics' links; other clinics' links stay as they are.
        others = partner.clinics.filter(~Q(pk__in=my_clinics))
        data["clinics"] = [*others, *data["clinics"]]
        try:
            partner, secret = services.partner_update(partner=partner, updated_by=request.user, **data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"{partner.name} has been saved.")
            if secret:
                return _show_webhook_secret(request, partner, secret)
            return redirect("partner-detail", pk=partner.pk)
    context = {"form": form, "heading": f"Edit {partner.name}", "partner": partner}
    return render(request, "partners/partner_form.html", context)


@never_cache
@require_POST
@manager_only
def partner_webhook_secret(request, pk: int):
    partner = _partner(request, pk)
    secret = services.partner_webhook_secret_rotate(partner=partner, rotated_by=request.user)  # 403 if shared
    messages.success(request, "A new webhook signing secret has been made; the old one no longer works.")
    return _show_webhook_secret(request, partner, secret)


def _show_webhook_secret(request, partner, secret):
    return render(request, "partners/webhook_secret.html", {"partner": partner, "secret": secret})


@never_cache
@manager_only
def client_create(request, pk: int):
    partner = _partner(request, pk)
    form = PartnerClientForm(request.POST or None, clinics=client_clinics_for(request.user, partner))
    if request.method == "POST" and form.is_valid():
        try:
            client_id, secret = services.partner_client_create(
                partner=partner,
                clinic=form.cleaned_data["clinic"],
                scopes=form.cleaned_data["scopes"],
                label=form.cleaned_data["label"],
                created_by=request.user,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            client = PartnerClient.objects.get(client_id=client_id)
            context = {"partner": partner, "client": client, "client_id": client_id, "secret": secret}
            return render(request, "partners/client_secret.html", context)
    return render(request, "partners/client_form.html", {"partner": partner, "form": form})


@manager_only
def client_revoke(request, pk: int, client_pk: int):
    partner = _partner(request, pk)
    client = get_object_or_404(clients_of(partner, request.user), pk=client_pk)
    if request.method == "POST":
        services.partner_client_revoke(client_id=client.client_id, revoked_by=request.user)
        messages.success(request, "The client has been revoked: its tokens stopped working at once.")
        return redirect("partner-detail", pk=partner.pk)
    return render(request, "partners/client_revoke.html", {"partner": partner, "client": client})
