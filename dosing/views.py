"""Dosing pages: the nurse's board, the slot actions and the prescriber's pages. Thin.

Each view finds its object from the user's clinics (another clinic's is a 404), builds a
form, calls one service and redirects; a refusal (`RuleViolation` or any ValidationError)
is put back on the form next to the field it names and in the error summary, with status
400 and the values kept. No view decides a clinical rule.

Each page about one patient's dosing or prescriptions writes one access-log entry when it is
read (GET, SPEC 8), after the lookup and the permission check, so a refused request writes
none; a submission is in the change history instead. The board is a list of everyone, polled
every few seconds: it writes none (its photos are logged, sparingly, by the photo view).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from cd_register import selectors as register_selectors
from cd_register.models import CdDrug
from cd_register.services import propose_ampoules
from clinics.access import has_capability, staff_only
from clinics.roles import Capability
from patients.models import AccessLogEntry, AccessPart
from patients.services import access_log_record

from . import board_cache, board_version, history, rules, selectors, services
from .forms import (
    AdministerForm,
    AdverseEventForm,
    ClearHoldForm,
    CorrectionForm,
    PreDoseCheckForm,
    PrescriptionForm,
    ReasonForm,
    SignOutForm,
)
from .models import CheckOutcome, Session
from .presentation import board_view, flag_views

DOSING = Capability.RECORD_DOSES
PRESCRIBING = Capability.PRESCRIBE


def _posted(request):
    return request.POST if request.method == "POST" else None


def _viewed(request, patient, part: AccessPart) -> None:
    """SPEC 8: reading a page about one patient is a view of their record (one INSERT); a POST is not."""
    if request.method == "GET":
        access_log_record(user=request.user, patient=patient, what=part, channel=AccessLogEntry.Channel.UI)


def _board_url(slot) -> str:
    return f"{reverse('dosing-board')}#slot-{slot.pk}"


def _slot_context(slot, **extra) -> dict:
    """What every slot page shows at the top: who, which session, which dose."""
    prescription = slot.prescription
    return {
        "slot": slot,
        "patient": slot.patient,
        "prescription": prescription,
        "session_label": Session(slot.session).label,
        "prescribed_dose_mg": prescription.dose_for(slot.session),
        "photo_url": reverse("patient-photo", args=[slot.patient.pk]) if slot.patient.photo else "",
        "flags": _slot_flags(slot),
        **extra,
    }


def _slot_flags(slot) -> list[tuple[str, str, str]]:
    """The board's flags for this slot (issue 14.3): what to notice is shown on every slot page too."""
    row = selectors.slot_board_row(slot)
    return flag_views(row) if row is not None else []


def _render_form(request, template: str, context: dict):
    form = context["form"]
    return render(request, template, context, status=400 if form.errors else 200)


# --- The board -------------------------------------------------------------------------------------------------


def _board_context(request, version: board_version.Version, *, now=None, can_dose: bool | None = None) -> dict:
    board = selectors.board_for(request.clinic, now=now or timezone.now())
    return {
        "board": board,
        # SPEC 2: a clinic manager who is not also a nurse sees the board read-only.
        "can_dose": has_capability(request.user, DOSING) if can_dose is None else can_dose,
        **board_view(board),
        "session_label": board.session.label,
        "running": board.session.window_start <= board.now < board.session.window_end,
        "board_etag": board_version.etag("html", board, version),
    }


def _with_etag(response, context: dict):
    response["ETag"] = context["board_etag"]
    return response


@never_cache
@staff_only(DOSING, Capability.VIEW_BOARD)
def board(request):
    """The current (or next) session of the clinic the nurse works in; board.js refreshes it every 3 s."""
    context = _board_context(request, board_version.read(request.clinic.pk))
    context["away"] = selectors.away_on(request.clinic, context["board"].session.date)  # S7: planned absences
    return _with_etag(render(request, "dosing/board.html", context), context)


@never_cache
@staff_only(DOSING, Capability.VIEW_BOARD)
def board_rows(request):
    """The live part of the board as an HTML fragment, for board.js to poll (same template, no page chrome).

    Unchanged since the copy the tablet has (If-None-Match): 304 with no body, after one query.
    Changed: rendered once per clinic, version and `can_dose`, and shared by every tablet of the
    clinic until the version moves or the clock changes the board (dosing/board_cache.py). The
    checks of the decorator (signed in, a role, the clinic) come first: the user's own clinic
    names the key, so nothing kept is served to someone who may not see that board.
    """
    version = board_version.read(request.clinic.pk)  # before the rows: see dosing/board_version.py
    now = timezone.now()
    same = board_version.unchanged(
        request.headers.get("If-None-Match"), kind="html", clinic_id=request.clinic.pk, version=version,
        now=now,
    )  # fmt: skip
    if same:
        response = HttpResponseNotModified()
        response["ETag"] = same
        return response
    can_dose = has_capability(request.user, DOSING)
    cache_key = board_cache.key("html", request.clinic.pk, version, audience="dose" if can_dose else "read")
    rendered = board_cache.shared(cache_key, now)
    if rendered is None:
        rendered = _render_live(request, version, now=now, can_dose=can_dose)
        board_cache.keep(cache_key, rendered, now)
    response = HttpResponse(rendered.at(now))
    response["ETag"] = rendered.etag
    return response


def _render_live(request, version: board_version.Version, *, now, can_dose: bool) -> board_cache.Rendered:
    """The live fragment with marks for what depends on the moment (board_cache), rendered without the request.

    Without the request no context processor runs: the fragment cannot hold the user, their
    CSRF token or anything else of the session, so it can be served to the clinic's other tablets.
    """
    context = _board_context(request, version, now=now, can_dose=can_dose)
    ends = []
    for board_row, row in zip(context["board"].rows, context["rows"], strict=True):
        if row.countdown_ends_ms:
            row.left = board_cache.left_mark(len(ends))
            ends.append(board_row.observation_ends_at)
    body = render_to_string("dosing/_board_live.html", context)
    marked = board_cache.marked_head(body, now)
    return board_cache.Rendered(
        body=marked or body,
        etag=context["board_etag"],
        valid_until_ms=board_version.valid_until_ms(context["board"]),
        ends=tuple(ends),
        shareable=marked is not None,
    )


# --- Slot pages and actions ---------------------------------------------------------------------------------------


def _register_lines(slot, entries) -> dict:
    """SPEC 5: each dose record's controlled-drug register lines (ampoules drawn, waste, corrections)."""
    if not entries or entries[0].drug not in CdDrug.values:
        return {}
    return register_selectors.lines_by_administration(
        clinic=slot.clinic, drug=entries[0].drug, administration_refs=[entry.pk for entry in entries]
    )


def _registers_for(slot):
    """The registers the slot's drug is drawn from (lazy: read only when the form is shown or ampoules are chosen)."""
    drug = slot.prescription.drug
    return register_selectors.registers_for_dose(slot.clinic, drug) if drug in CdDrug.values else ()


def _slot(request, pk: int):
    slot = selectors.slot_detail(request.user, pk)
    _viewed(request, slot.patient, AccessPart.DOSING)
    return slot


@staff_only(DOSING)
def slot_detail(request, pk: int):
    slot = _slot(request, pk)
    entries = selectors.administration_entries(slot)
    original = next((entry for entry in entries if entry.corrects_id is None), None)
    lines = _register_lines(slot, entries)
    return render(
        request,
        "dosing/slot_detail.html",
        _slot_context(
            slot,
            checks=selectors.slot_checks(slot),
            entries=entries,
            register_lines=[
                (entry, row) for entry in entries for row in register_selectors.register_rows(lines.get(entry.pk, []))
            ],
            original=original,
            in_force=selectors.in_force(entries),
            sign_out=getattr(original, "sign_out", None) if original else None,
            events=selectors.adverse_events_of(slot),
            hold=selectors.holds_for(request.user).filter(patient=slot.patient, cleared_at__isnull=True).first(),
            is_open=slot.is_open,
            can_prescribe=has_capability(request.user, PRESCRIBING),
        ),
    )


@require_POST
@staff_only(DOSING)
def arrive(request, pk: int):
    slot = selectors.slot_detail(request.user, pk)
    try:
        services.slot_mark_arrived(slot=slot, nurse=request.user)
    except ValidationError as error:
        messages.error(request, f"{slot.patient.display_name}: {' '.join(error.messages)}")
    else:
        messages.success(request, f"{slot.patient.display_name} has arrived.")
    return redirect(_board_url(slot))


@staff_only(DOSING)
def check(request, pk: int):
    slot = _slot(request, pk)
    form = PreDoseCheckForm(
        _posted(request),
        staff=selectors.clinic_staff(slot.clinic),
        prescribers=selectors.prescribers_of(slot.clinic),
    )
    if request.method == "POST" and form.is_valid():
        try:
            result = services.record_pre_dose_check(slot=slot, checked_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            name = slot.patient.display_name
            if result.outcome == CheckOutcome.WITHHOLD:
                messages.success(request, f"{name}: dose withheld ({result.withhold_reason}).")
                return redirect(_board_url(slot))
            messages.success(request, f"{name}: pre-dose check recorded. Next: give the dose.")
            return redirect("dosing-administer", pk=slot.pk)
    return _render_form(
        request,
        "dosing/check_form.html",
        _slot_context(slot, form=form, heading="Pre-dose check", submit_label="Record the check"),
    )


def _ampoule_proposal(slot, dose_mg) -> str:
    """What the register will draw for this dose (SPEC 5), shown before the nurse confirms."""
    if not dose_mg or slot.prescription.drug not in CdDrug.values:
        return ""
    return propose_ampoules(clinic=slot.clinic, drug=slot.prescription.drug, dose_mg=dose_mg).describe()


# A witness's PIN confirmation for a dose whose form came back (services.confirm_witness), by slot: kept in the
# server-side session, never in the page.
WITNESS_CONFIRMATIONS = "dosing.witness_confirmations"


def _witness_confirmation(request, slot, token: str | None = None) -> str:
    """Read (token None), keep (a token) or forget (empty token) the witness's confirmation for this slot."""
    kept = request.session.get(WITNESS_CONFIRMATIONS, {})
    if token is None:
        return kept.get(str(slot.pk), "")
    if kept.get(str(slot.pk), "") == token:
        return token  # nothing changes: the session is not written again (a write on every dose otherwise)
    if token:
        kept[str(slot.pk)] = token
    else:
        kept.pop(str(slot.pk), None)
    request.session[WITNESS_CONFIRMATIONS] = kept
    return token


def _record_dose(request, slot, form):
    """Issue 14.5: every problem at once, and the witness's PIN typed once.

    The entries are checked together first (the form's own checks and the rules that need no lock);
    the PIN is tried once the witness and what they vouch for (dose, ampoules) are right, even if an
    unrelated field (the site) is not, and its confirmation is kept for the next try. The dose
    service then checks everything again under its lock. Returns the administration, or None.
    """
    form.is_valid()
    data = form.cleaned_data
    witness, dose_mg, ampoules = data.get("witness"), data.get("dose_mg"), data.get("ampoules")
    pin = data.get("witness_password", "")
    vouched = {"slot": slot, "nurse": request.user, "witness": witness, "dose_mg": dose_mg, "ampoules": ampoules}
    kept = _witness_confirmation(request, slot)
    confirmed = not pin and services.witness_confirmation_holds(kept, **vouched)
    try:
        services.check_dose_entry(
            slot=slot, nurse=request.user, witness_password_given=bool(pin) or confirmed, **form.entered()
        )
    except ValidationError as error:
        form.add_service_errors(error)
    if pin:
        if any(name in form.errors for name in ("dose_mg", "ampoules", "witness")):
            form.add_error(
                "witness_password",
                "Not checked yet: the witness types their PIN once the dose and the witness are right.",
            )
        else:
            try:
                # Kept in the session only if the dose does not go through (below): the next try needs it then.
                kept = services.confirm_witness(witness_password=pin, **vouched)
                confirmed = True
            except ValidationError as error:
                _witness_confirmation(request, slot, "")
                form.add_service_errors(error)
    if confirmed and "witness_password" not in form.errors:
        form.witness_already_confirmed(witness)
    if form.errors:
        _witness_confirmation(request, slot, kept if confirmed else None)
        return None
    try:
        given = services.administer_dose(
            slot=slot,
            nurse=request.user,
            dose_mg=dose_mg,
            route=data["route"],
            injection_site=data.get("injection_site", ""),
            witness=witness,
            witness_confirmation=kept,
            ampoules=ampoules,
        )
    except ValidationError as error:
        form.add_service_errors(error)
        _witness_confirmation(request, slot, kept)
        return None
    _witness_confirmation(request, slot, "")
    return given


@staff_only(DOSING)
def administer(request, pk: int):
    """Record the dose. A stale or doubled submission is refused by S1 in the service, never a second dose."""
    slot = _slot(request, pk)
    checks = list(slot.checks.select_related("authorised_by").order_by("-checked_at", "-pk"))
    latest_check = checks[0] if checks else None
    reduction = rules.standing_reduction(checks)  # S5: an authorised reduction stands for the session
    authorised = reduction.reduced_dose_mg if reduction is not None else slot.prescription.dose_for(slot.session)
    initial = {"dose_mg": authorised, "route": slot.prescription.route}
    form = AdministerForm(
        _posted(request),
        initial=initial,
        staff=selectors.clinic_staff(slot.clinic),
        witnesses=selectors.witnesses_for(slot.clinic, nurse=request.user),
        registers=_registers_for(slot),
        injectable=slot.prescription.is_injectable,
    )
    if request.method == "POST":
        given = _record_dose(request, slot, form)
        if given is not None:
            zone = slot.clinic.zone
            messages.success(
                request,
                f"{slot.patient.display_name}: {rules.mg(given.dose_mg)} given at {rules.hhmm(given.given_at, zone)}. "
                f"Observe until {rules.hhmm(given.observation_ends_at, zone)}.",
            )
            return redirect(_board_url(slot))
    return _render_form(
        request,
        "dosing/administer_form.html",
        _slot_context(
            slot,
            form=form,
            check=latest_check,
            reduction=reduction,
            authorised_dose_mg=authorised,
            ampoules=_ampoule_proposal(slot, authorised),
            heading="Give dose",
            submit_label="Record the dose",
        ),
    )


def _slot_reason_action(request, pk: int, *, service, template: str, done: str, **page):
    slot = _slot(request, pk)
    form = ReasonForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            service(slot=slot, nurse=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"{slot.patient.display_name}: {done}.")
            return redirect(_board_url(slot))
    return _render_form(request, template, _slot_context(slot, form=form, **page))


@staff_only(DOSING)
def refuse(request, pk: int):
    return _slot_reason_action(
        request,
        pk,
        service=services.record_refusal,
        template="dosing/refuse_form.html",
        done="refusal recorded",
        heading="Patient refuses",
        submit_label="Record the refusal",
    )


@staff_only(DOSING)
def withhold(request, pk: int):
    return _slot_reason_action(
        request,
        pk,
        service=services.withhold_dose,
        template="dosing/withhold_form.html",
        done="dose withheld",
        heading="Withhold dose",
        submit_label="Withhold the dose",
        danger=True,
    )


def _administration(request, pk: int):
    administration = get_object_or_404(
        selectors.administrations_for(request.user).select_related(
            "slot__patient", "slot__clinic", "slot__prescription", "nurse", "witness"
        ),
        pk=pk,
    )
    _viewed(request, administration.slot.patient, AccessPart.DOSING)
    return administration, administration.slot


@staff_only(DOSING)
def sign_out(request, pk: int):
    administration, slot = _administration(request, pk)
    form = SignOutForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.sign_out_after_observation(
                administration=administration, signed_out_by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"{slot.patient.display_name} is signed out after observation.")
            return redirect(_board_url(slot))
    return _render_form(
        request,
        "dosing/sign_out_form.html",
        _slot_context(
            slot,
            form=form,
            administration=administration,
            heading="Sign out after observation",
            submit_label="Sign the patient out",
        ),
    )


@staff_only(DOSING)
def adverse_event(request, pk: int):
    administration, slot = _administration(request, pk)
    form = AdverseEventForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            event = services.record_adverse_event(
                administration=administration, recorded_by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            alerted = ", ".join(selectors.alerted_about(event)) or "no prescriber (none at this clinic)"
            messages.success(
                request,
                f"S12 · {event.get_kind_display()} recorded for {slot.patient.display_name}. Alerted: {alerted}.",
            )
            return redirect("dosing-slot", pk=slot.pk)
    return _render_form(
        request,
        "dosing/adverse_event_form.html",
        _slot_context(
            slot,
            form=form,
            administration=administration,
            heading="Adverse event",
            submit_label="Record and alert the prescriber",
            danger=True,
        ),
    )


def _register_shows(slot) -> str:
    """What the register records for the slot's dose so far (all its records), for the correction page."""
    lines = _register_lines(slot, selectors.administration_entries(slot))
    return register_selectors.draw_summary([line for group in lines.values() for line in group])


@staff_only(DOSING)
def correct(request, pk: int):
    """S10: a new, witnessed entry beside the original; the original is never changed."""
    administration, slot = _administration(request, pk)
    initial = {
        "dose_mg": administration.dose_mg,
        "route": administration.route,
        "injection_site": administration.injection_site,
        "given_at": administration.given_at,
    }
    form = CorrectionForm(
        _posted(request),
        initial=initial,
        staff=selectors.clinic_staff(slot.clinic),
        witnesses=selectors.witnesses_for(slot.clinic, nurse=request.user),
        registers=_registers_for(slot),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.correct_administration(administration=administration, author=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Correction recorded beside the original entry, which is kept unchanged.")
            return redirect("dosing-slot", pk=slot.pk)
    return _render_form(
        request,
        "dosing/correction_form.html",
        _slot_context(
            slot,
            form=form,
            administration=administration,
            register_shows=_register_shows(slot),
            heading="Correct a dose record",
            submit_label="Record the correction",
        ),
    )


# --- Prescriber pages -----------------------------------------------------------------------------------------------


def _patient(request, pk: int):
    patient = get_object_or_404(selectors.dosing_patients_for(request.user).select_related("clinic"), pk=pk)
    _viewed(request, patient, AccessPart.PRESCRIPTIONS)
    return patient


@staff_only(DOSING)
def patient_prescriptions(request, pk: int):
    """A patient's prescriptions: the live ones and every version, newest first (readable by nurses)."""
    patient = _patient(request, pk)
    return render(
        request,
        "dosing/patient_prescriptions.html",
        {
            "patient": patient,
            "live": selectors.live_prescriptions(patient),
            "changes": selectors.prescription_changes(selectors.prescription_history(patient)),
            "hold": selectors.holds_for(request.user).filter(patient=patient, cleared_at__isnull=True).first(),
            "can_prescribe": has_capability(request.user, PRESCRIBING),
            "dose_history": history.dose_history(patient, end=timezone.localdate()),
        },
    )


@staff_only(PRESCRIBING)
def prescription_new(request, pk: int):
    patient = _patient(request, pk)
    form = PrescriptionForm(_posted(request), initial={"starts_on": timezone.localdate(), "route": "iv"})
    if request.method == "POST" and form.is_valid():
        try:
            services.prescription_create(
                patient=patient, prescriber=request.user, drug=form.cleaned_data["drug"], **form.service_fields()
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Prescription signed for {patient.display_name}.")
            return redirect("dosing-patient-prescriptions", pk=patient.pk)
    return _render_form(request, "dosing/prescription_form.html", {"patient": patient, "form": form, "new": True})


def _prescription(request, pk: int):
    prescription = get_object_or_404(selectors.prescriptions_for(request.user).select_related("patient__clinic"), pk=pk)
    _viewed(request, prescription.patient, AccessPart.PRESCRIPTIONS)
    return prescription


@staff_only(PRESCRIBING)
def prescription_change(request, pk: int):
    """A change or a titration step: a new signed version that supersedes this one."""
    prescription = _prescription(request, pk)
    patient = prescription.patient
    titration = request.GET.get("titration") == "1"
    initial = {field: getattr(prescription, field) for field in PrescriptionForm.SERVICE_FIELDS}
    initial["starts_on"] = max(prescription.starts_on, timezone.localdate())
    initial["notes"] = ""
    if titration:
        initial["is_titration"] = True
    form = PrescriptionForm(_posted(request), initial=initial, change=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.prescription_change(prescription=prescription, prescriber=request.user, **form.service_fields())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "New version signed; the previous version is kept in the history.")
            return redirect("dosing-patient-prescriptions", pk=patient.pk)
    return _render_form(
        request,
        "dosing/prescription_form.html",
        {"patient": patient, "form": form, "prescription": prescription, "titration": titration},
    )


@staff_only(PRESCRIBING)
def prescription_stop(request, pk: int):
    prescription = _prescription(request, pk)
    form = ReasonForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.prescription_stop(
                prescription=prescription, prescriber=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Prescription stopped; today's open slots are cancelled.")
            return redirect("dosing-patient-prescriptions", pk=prescription.patient_id)
    return _render_form(
        request,
        "dosing/prescription_stop.html",
        {"patient": prescription.patient, "prescription": prescription, "form": form},
    )


@staff_only(PRESCRIBING)
def holds(request):
    """S7: the held patients of all the user's clinics (as the API and the hold alerts), oldest first."""
    context = {
        "holds": selectors.holds_to_review_for(request.user),
        "licence_reviews": selectors.licence_reviews_for(request.user),  # S14
    }
    return render(request, "dosing/holds.html", context)


REVIEW_LISTS = {
    "reductions": ("Reduced doses to review", selectors.reductions_to_review),
    "titrations": ("Titration steps due", selectors.titrations_due),
    "licences": ("Prescriber licences ending", selectors.licence_expiries),
}


@staff_only(PRESCRIBING)
def review_list(request, kind: str):
    """The prescriber's work queues of the home page, one list each, across all the user's clinics."""
    heading, selector = REVIEW_LISTS[kind]
    context = {"kind": kind, "heading": heading, "items": selector(request.user)}
    return render(request, "dosing/review_list.html", context)


@staff_only(DOSING)
def hold_clear(request, pk: int):
    """S7: the prescriber's review, signed in themselves or with their PIN typed on a nurse's device."""
    hold = get_object_or_404(
        selectors.holds_for(request.user).select_related("patient__clinic", "prescription", "cleared_by"), pk=pk
    )
    _viewed(request, hold.patient, AccessPart.PRESCRIPTIONS)  # S7: the review shows the live prescription
    current = services.live_prescription(hold.patient, hold.prescription.drug)
    clinic = hold.patient.clinic
    form = ClearHoldForm(
        _posted(request), staff=selectors.clinic_staff(clinic), prescribers=selectors.prescribers_of(clinic)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.clear_hold(hold=hold, recorded_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Hold cleared for {hold.patient.display_name}; the restart dose is signed.")
            return redirect("dosing-holds")
    return _render_form(
        request,
        "dosing/hold_clear.html",
        {
            "hold": hold,
            "patient": hold.patient,
            "current": current,
            "form": form,
            "dose_history": history.dose_history(hold.patient, end=timezone.localdate()),
        },
    )


@staff_only(PRESCRIBING)
def alerts(request):
    return render(request, "dosing/alerts.html", {"alerts": selectors.alerts_for(request.user)[:100]})


@require_POST
@staff_only(PRESCRIBING)
def alert_read(request, pk: int):
    alert = selectors.alerts_for(request.user).filter(pk=pk).first()
    if alert is None:
        raise Http404("No such alert")
    services.alert_mark_read(alert=alert, user=request.user)
    return redirect("dosing-alerts")


# --- Dose and attendance history ------------------------------------------------------------------------------------

HISTORY_RANGES = (28, 90, 182, 366)


@staff_only(DOSING)
def patient_history(request, pk: int):
    """A patient's doses and attendance, 28 days by default (`?days=` up to a year), newest first."""
    patient = get_object_or_404(selectors.dosing_patients_for(request.user).select_related("clinic"), pk=pk)
    days = request.GET.get("days", str(history.DEFAULT_DAYS))
    if days not in {str(choice) for choice in HISTORY_RANGES}:
        choices = ", ".join(str(choice) for choice in HISTORY_RANGES)
        return render(
            request,
            "dosing/patient_history.html",
            {"patient": patient, "error": f"The range must be one of {choices} days.", "ranges": HISTORY_RANGES},
            status=400,
        )
    _viewed(request, patient, AccessPart.DOSING)
    return render(
        request,
        "dosing/patient_history.html",
        {
            "patient": patient,
            "dose_history": history.dose_history(patient, end=timezone.localdate(), days=int(days)),
            "ranges": HISTORY_RANGES,
            "days": int(days),
        },
    )
