"""Staff pages for drug alerts: the list with the publish form and partner submissions to review, the
detail (printable as a waiting-room notice), and the acknowledge button of the banner. Thin: services decide."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from clinics.access import may_act, staff_only
from clinics.parsing import parse_int

from . import services
from .forms import AlertForm, add_service_errors
from .models import AlertStatus, DrugAlert
from .selectors import acknowledgements_of, alert_detail, alerts_of_clinic


def _alert(request, pk: int) -> DrugAlert:
    try:
        return alert_detail(request.user, pk)
    except DrugAlert.DoesNotExist:
        raise Http404("No such alert in your clinics.") from None


def _may_publish(request, clinic) -> bool:
    return clinic is not None and may_act(request.user, *services.PUBLISHERS, clinic=clinic)


def _list_page(request, form, status=200):
    clinic = request.clinic
    alerts = list(alerts_of_clinic(request.user, clinic)) if clinic else []
    context = {
        "form": form,
        "may_publish": _may_publish(request, clinic),
        "submitted": [a for a in alerts if a.status == AlertStatus.SUBMITTED],
        "alerts": [a for a in alerts if a.status != AlertStatus.SUBMITTED],
        "now": timezone.now(),
    }
    return render(request, "alerts/alert_list.html", context, status=status)


@staff_only()
def alert_list(request):
    """url name: alert-list."""
    return _list_page(request, AlertForm())


@require_POST
@staff_only(*services.PUBLISHERS)
def alert_publish(request):
    """url name: alert-publish. Writes and publishes a new alert for the current clinic."""
    if request.clinic is None:  # a system administrator working in no clinic
        raise Http404("Choose a clinic first.")
    form = AlertForm(request.POST)
    if form.is_valid():
        try:
            alert = services.publish_new_alert(clinic=request.clinic, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The alert is published: staff see it until they acknowledge it.")
            return redirect("alert-detail", alert.pk)
    return _list_page(request, form, status=400)


def _detail_page(request, alert: DrugAlert, correct_form=None, status=200):
    if correct_form is None:
        initial = {name: getattr(alert, name) for name in services.EDITABLE_FIELDS}
        initial["valid_until"] = timezone.localtime(alert.valid_until)
        correct_form = AlertForm(initial=initial, prefix="correct")
    context = {
        "alert": alert,
        "may_publish": _may_publish(request, alert.clinic),
        "acknowledgements": acknowledgements_of(alert),
        "expired": alert.is_expired(now=timezone.now()),
        "correct_form": correct_form,
    }
    return render(request, "alerts/alert_detail.html", context, status=status)


@staff_only()
def alert_detail_page(request, pk: int):
    """url name: alert-detail. Printed, it is a one-page notice for the waiting room."""
    return _detail_page(request, _alert(request, pk))


@require_POST
@staff_only(*services.PUBLISHERS)
def alert_correct(request, pk: int):
    """url name: alert-correct: change a published alert; partners get alert.updated."""
    alert = _alert(request, pk)
    form = AlertForm(request.POST, prefix="correct")
    if form.is_valid():
        try:
            services.correct_alert(alert=alert, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The alert is corrected; partners are sent the new version.")
            return redirect("alert-detail", alert.pk)
    return _detail_page(request, alert, correct_form=form, status=400)


def _transition(request, pk: int, action, success: str):
    alert = _alert(request, pk)
    try:
        action(alert)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("alert-detail", alert.pk)
    messages.success(request, success)
    return redirect("alert-detail", alert.pk)


@require_POST
@staff_only(*services.PUBLISHERS)
def alert_publish_submitted(request, pk: int):
    """url name: alert-publish-submitted: publish a partner's submission after review."""
    return _transition(
        request, pk, lambda alert: services.publish_alert(alert=alert, by=request.user), "The alert is published."
    )


@require_POST
@staff_only(*services.PUBLISHERS)
def alert_decline(request, pk: int):
    """url name: alert-decline."""
    reason = request.POST.get("reason", "")
    return _transition(
        request,
        pk,
        lambda alert: services.decline_alert(alert=alert, by=request.user, reason=reason),
        "The submission is declined.",
    )


@require_POST
@staff_only(*services.PUBLISHERS)
def alert_withdraw(request, pk: int):
    """url name: alert-withdraw."""
    reason = request.POST.get("reason", "")
    return _transition(
        request,
        pk,
        lambda alert: services.withdraw_alert(alert=alert, by=request.user, reason=reason),
        "The alert is withdrawn; partners are told.",
    )


@require_POST
@staff_only()
def alert_acknowledge(request, pk: int):
    """url name: alert-acknowledge: the banner's "I have read this"; back to the page it was pressed on."""
    alert = _alert(request, pk)
    try:
        version = parse_int(request.POST.get("version") or alert.version, name="version")
        services.acknowledge_alert(alert=alert, by=request.user, version=version)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except PermissionDenied:
        raise
    else:
        messages.success(request, f"Thank you: you have read the alert about {alert.substance}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("alert-list")
    return redirect(target)
