"""Referral pages: inbox, intake, detail with the assessment and the decisions, clinic criteria. Thin views."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinics.access import has_capability, staff_only
from clinics.roles import Capability
from patients.models import AccessLogEntry
from patients.selectors import patients_for
from patients.services import matches_elsewhere_record

from . import services
from .forms import (
    AcceptForm,
    DeclineForm,
    EligibilityCriteriaForm,
    PreviousEpisodeFormSet,
    RecommendForm,
    ReferralForm,
    WithdrawForm,
)
from .models import OPEN_STATUSES, Referral, ReferralStatus
from .selectors import (
    can_see_referrals,
    eligibility_criteria_for,
    referral_assessment,
    referral_detail,
    referral_duplicates,
    referral_inbox,
)

STATUS_FILTERS = [("open", "Open (new, assessing, awaiting prescriber)"), *ReferralStatus.choices, ("all", "All")]


def _require_referrals(request) -> None:
    if not can_see_referrals(request.user):
        raise PermissionDenied("Referrals are for keyworkers and prescribers.")


def _get_referral(request, pk: int) -> Referral:
    try:
        return referral_detail(request.user, pk)
    except Referral.DoesNotExist:
        raise Http404("No such referral in your clinics.") from None


def patient_url(patient_pk: int) -> str | None:
    """The new patient's record page, once the patients app provides it."""
    try:
        return reverse("patient-detail", args=[patient_pk])
    except NoReverseMatch:
        return None


def _inbox(request, *, status: str, heading: str, filterable: bool):
    referrals = referral_inbox(request.user, clinic=request.clinic, status="" if status == "all" else status)
    page = Paginator(referrals, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "referrals/referral_list.html",
        {
            "page": page,
            "status": status,
            "status_filters": STATUS_FILTERS,
            "heading": heading,
            "filterable": filterable,
            "can_handle": has_capability(request.user, Capability.HANDLE_REFERRALS),
        },
    )


@staff_only()
def referral_list(request):
    _require_referrals(request)
    status = request.GET.get("status") or "open"
    if status not in dict(STATUS_FILTERS):
        status = "open"
    return _inbox(request, status=status, heading="Referral inbox", filterable=True)


@staff_only(Capability.SIGN_OFF_REFERRALS)
def referral_sign_off_list(request):
    return _inbox(request, status=ReferralStatus.AWAITING_PRESCRIBER, heading="Referrals to sign off", filterable=False)


def _duplicates_for_display(user, form: ReferralForm) -> dict:
    data = form.cleaned_data
    found = referral_duplicates(
        nhs_number=data.get("nhs_number", ""),
        given_name=data.get("given_name", ""),
        family_name=data.get("family_name", ""),
        date_of_birth=data.get("date_of_birth"),
    )
    # Details only of patients in the user's own clinics; others are only counted.
    visible_ids = set(patients_for(user).filter(pk__in=[p.pk for p in found.patients]).values_list("pk", flat=True))
    visible = [
        {
            "patient": p,
            "url": patient_url(p.pk),
            "same_nhs": bool(p.nhs_number and p.nhs_number == data.get("nhs_number")),
        }
        for p in found.patients
        if p.pk in visible_ids
    ]
    # Issue 11: told only to staff who handle referrals, and each match at another clinic is logged.
    elsewhere = matches_elsewhere_record(
        user=user, patients=[p for p in found.patients if p.pk not in visible_ids], channel=AccessLogEntry.Channel.UI
    )
    return {"visible": visible, "elsewhere": len(elsewhere)}


@staff_only(Capability.HANDLE_REFERRALS)
def referral_create(request):
    duplicates = None
    if request.method == "POST":
        form = ReferralForm(request.POST)
        episodes = PreviousEpisodeFormSet(request.POST, prefix="episodes")
        if form.is_valid() and episodes.is_valid():
            try:
                referral = services.referral_create(
                    clinic=request.clinic,
                    created_by=request.user,
                    previous_episodes=[e.cleaned_data for e in episodes.forms if e.has_changed()],
                    **form.service_fields(),
                )
            except ValidationError as error:
                form.add_service_errors(error)
                if "confirm_not_duplicate" in getattr(error, "error_dict", {}):
                    duplicates = _duplicates_for_display(request.user, form)
            else:
                messages.success(request, f"Referral {referral.pk} taken in.")
                return redirect("referral-detail", referral.pk)
        status = 400
    else:
        form = ReferralForm(initial={"received_on": timezone.localdate()})
        episodes = PreviousEpisodeFormSet(prefix="episodes")
        status = 200
    return render(
        request,
        "referrals/referral_form.html",
        {"form": form, "episodes": episodes, "duplicates": duplicates},
        status=status,
    )


def _detail_context(request, referral: Referral, **forms) -> dict:
    user = request.user
    can_handle = has_capability(user, Capability.HANDLE_REFERRALS)
    can_sign_off = has_capability(user, Capability.SIGN_OFF_REFERRALS)
    is_open = referral.status in OPEN_STATUSES
    awaiting = referral.status == ReferralStatus.AWAITING_PRESCRIBER
    found = referral_duplicates(nhs_number=referral.nhs_number) if referral.is_open else None
    if found and found.patients:
        # The warning says the person is registered, maybe at another clinic: logged for each match there.
        matches_elsewhere_record(user=user, patients=found.patients, channel=AccessLogEntry.Channel.UI)
    context = {
        "referral": referral,
        "episodes": list(referral.previous_episodes.all()),
        "assessment": referral_assessment(referral),
        "can_start": can_handle and referral.status == ReferralStatus.NEW,
        "can_recommend": can_handle and is_open,
        "can_decide": can_sign_off and awaiting,
        "can_decline": can_sign_off and is_open,
        "can_withdraw": (can_handle or can_sign_off) and is_open,
        "patient_url": patient_url(referral.patient_id) if referral.patient_id else None,
        "registered_elsewhere": bool(found and found.patients),
        "possible_duplicate": referral.possible_duplicate_of if is_open else None,
        "recommend_form": forms.get("recommend_form") or RecommendForm(prefix="recommend"),
        "accept_form": forms.get("accept_form") or AcceptForm(prefix="accept"),
        "decline_form": forms.get("decline_form") or DeclineForm(prefix="decline"),
        "withdraw_form": forms.get("withdraw_form") or WithdrawForm(prefix="withdraw"),
    }
    return context


@staff_only()
def referral_detail_view(request, pk: int):
    _require_referrals(request)
    referral = _get_referral(request, pk)
    return render(request, "referrals/referral_detail.html", _detail_context(request, referral))


# action name -> (form class and prefix, service, success message)
ACTIONS = {
    "start-assessment": (None, services.referral_start_assessment, "Assessment started."),
    "recommend": (RecommendForm, services.referral_recommend, "Recommendation sent to the prescriber."),
    "accept": (AcceptForm, services.referral_accept, "Referral accepted: the patient is registered in treatment."),
    "decline": (DeclineForm, services.referral_decline, "Referral declined."),
    "withdraw": (WithdrawForm, services.referral_withdraw, "Referral withdrawn."),
}


@require_POST
@staff_only()
def referral_action(request, pk: int, action: str):
    _require_referrals(request)
    if action not in ACTIONS:
        raise Http404("No such action.")
    form_class, service, success = ACTIONS[action]
    referral = _get_referral(request, pk)
    form = form_class(request.POST, prefix=action) if form_class else None
    if form is None or form.is_valid():
        try:
            referral = service(referral=referral, by=request.user, **(form.cleaned_data if form else {}))
        except ValidationError as error:
            if form is None:
                messages.error(request, " ".join(error.messages))
                return redirect("referral-detail", referral.pk)
            form.add_service_errors(error)
        else:
            messages.success(request, success)
            if action == "accept" and patient_url(referral.patient_id):
                return redirect(patient_url(referral.patient_id))
            return redirect("referral-detail", referral.pk)
    context = _detail_context(request, _get_referral(request, pk), **{f"{action}_form": form})
    context["failed_action"] = action
    return render(request, "referrals/referral_detail.html", context, status=400)


@staff_only(Capability.MANAGE_CLINIC)
def eligibility_settings(request):
    clinic = request.clinic
    criteria = eligibility_criteria_for(clinic)
    if request.method == "POST":
        form = EligibilityCriteriaForm(request.POST, instance=criteria)
        if form.is_valid():
            try:
                services.eligibility_criteria_update(clinic=clinic, by=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, f"Eligibility criteria of {clinic.name} saved.")
                return redirect("referral-eligibility")
        status = 400
    else:
        form = EligibilityCriteriaForm(instance=criteria)
        status = 200
    return render(request, "referrals/eligibility_form.html", {"form": form, "clinic": clinic}, status=status)
