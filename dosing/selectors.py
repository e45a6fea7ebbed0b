"""Reads of the dosing app for pages, the API and reports.

Every user-facing query starts from `clinics_for(user)` (via the `*_for(user)` functions),
so an object of another clinic is simply not found (404). `board_for` runs a fixed number
of queries whatever the number of patients.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise

from django.db.models import Exists, F, OuterRef, Prefetch, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from clinics import change_sentences
from clinics.access import has_capability
from clinics.models import Clinic, User
from clinics.roles import ROLE_CAPABILITIES, Capability
from clinics.selectors import clinic_list, clinics_for
from hat_clinic.precompiled import STAND_IN_ID, STAND_IN_OTHER_ID, Precompiled
from patients.models import Episode, Patient, PatientStatus

from . import rules
from .models import (
    LICENSED_DRUGS,
    Administration,
    AdverseEvent,
    Alert,
    CheckOutcome,
    DosingSettings,
    Hold,
    ObservationSignOut,
    PlannedAbsence,
    PreDoseCheck,
    PrescriberLicence,
    Prescription,
    Session,
    Slot,
    SlotStatus,
)
from .rules import SETTINGS_FIELDS, setting_text, standing_reduction

# --- Scoping: start every lookup here --------------------------------------------------------------


def slots_for(user) -> QuerySet[Slot]:
    if not has_capability(user, Capability.RECORD_DOSES):
        return Slot.objects.none()
    return Slot.objects.filter(clinic__in=clinic_list(user)).select_related("clinic")


def _slot_with_clinic(*, slot_id):
    return Slot.objects.filter(pk=slot_id).select_related("clinic")


# Read by every check and dose: precompiled (issue 13), so it is read by id alone and its clinic is
# checked in Python against the user's clinics, which `clinic_list` already holds for the request.
_SLOT_WITH_CLINIC = Precompiled(_slot_with_clinic, slot_id=STAND_IN_ID)
_NO_SLOT = "No Slot matches the given query."  # get_object_or_404's words, so the 404 reads as before


def _witness_with_s9(*, user_id, clinic_id):
    """The user row with S9's question for the clinic: active, of this clinic (itself active), in a role that
    records doses (dosing.services.doses._may_witness asks the same in SQL of its own)."""
    app_label, codename = Capability.RECORD_DOSES.perm.split(".")
    may_witness = User.objects.filter(
        pk=OuterRef("pk"),
        is_active=True,
        clinics__pk=clinic_id,
        clinics__is_active=True,
        groups__permissions__codename=codename,
        groups__permissions__content_type__app_label=app_label,
    )
    return User.objects.filter(pk=user_id).annotate(may_witness_here=Exists(may_witness))


_WITNESS = Precompiled(_witness_with_s9, user_id=STAND_IN_ID, clinic_id=STAND_IN_OTHER_ID)  # every dose's witness


def witness_at(clinic: Clinic, user_id: int) -> User | None:
    """The member of staff named as witness of a dose at `clinic`, None when no one has the id: read with S9's
    question answered for that clinic in the same statement (a round trip less on every dose). The answer is
    kept on the object with the clinic's id (`may_witness_at`), for the dose's S9 check at this clinic only."""
    witness = _WITNESS.first(user_id=user_id, clinic_id=clinic.pk)
    if witness is not None:
        witness.may_witness_at = (clinic.pk, witness.may_witness_here)
    return witness


def slot_of(user, pk: int) -> Slot:
    """The slot `pk` with its clinic, as `slots_for(user)` finds it: a slot of another clinic is a 404 like one
    that does not exist (so nothing tells who exists elsewhere), and so is any slot for a user who may not dose.

    An id outside the primary key's range is not found either (as the ORM answers), never sent to the database.
    """
    if not has_capability(user, Capability.RECORD_DOSES) or not 0 < pk < 2**63:
        raise Http404(_NO_SLOT)
    slot = _SLOT_WITH_CLINIC.first(slot_id=pk)
    if slot is None or not any(clinic.pk == slot.clinic_id for clinic in clinic_list(user)):
        raise Http404(_NO_SLOT)
    return slot


def administrations_for(user) -> QuerySet[Administration]:
    if not has_capability(user, Capability.RECORD_DOSES):
        return Administration.objects.none()
    return Administration.objects.filter(slot__clinic__in=clinics_for(user))


def prescriptions_for(user) -> QuerySet[Prescription]:
    """Prescriptions of the user's clinics: nurses and prescribers see them (nurses cannot write them)."""
    if not has_capability(user, Capability.RECORD_DOSES):
        return Prescription.objects.none()
    return Prescription.objects.filter(patient__clinic__in=clinics_for(user))


def holds_for(user) -> QuerySet[Hold]:
    if not has_capability(user, Capability.RECORD_DOSES):
        return Hold.objects.none()
    return Hold.objects.filter(patient__clinic__in=clinics_for(user))


def dosing_patients_for(user) -> QuerySet[Patient]:
    """Patients the user may prescribe for or dose (their clinics)."""
    if not has_capability(user, Capability.RECORD_DOSES):
        return Patient.objects.none()
    return Patient.objects.filter(clinic__in=clinics_for(user))


# --- Lists for pages ---------------------------------------------------------------------------------------


def prescription_history(patient: Patient) -> QuerySet[Prescription]:
    """Every version, newest first, with who signed and stopped it."""
    return patient.prescriptions.select_related("prescriber", "stopped_by", "supersedes").order_by("-signed_at", "-pk")


def live_prescriptions(patient: Patient) -> QuerySet[Prescription]:
    return patient.prescriptions.live().select_related("prescriber").order_by("drug")


def administration_entries(slot: Slot) -> list[Administration]:
    """S10: the original and its corrections in order, to show side by side; the last one is in force."""
    return list(slot.administrations.select_related("nurse", "witness", "corrects").order_by("recorded_at", "pk"))


def in_force(entries: list[Administration]) -> Administration | None:
    """The entry nobody corrects, from a slot's entries (one query done by the caller)."""
    corrected = {entry.corrects_id for entry in entries if entry.corrects_id}
    current = [entry for entry in entries if entry.pk not in corrected]
    return current[-1] if current else None


def alerts_for(user) -> QuerySet[Alert]:
    """The user's own alerts of their clinics, unread first, newest first."""
    return (
        Alert.objects.filter(recipient=user, clinic__in=clinics_for(user))
        .select_related("clinic", "adverse_event__administration__slot", "hold")
        .order_by(F("read_at").desc(nulls_first=True), "-created_at", "-pk")
    )


def alerted_about(event: AdverseEvent) -> list[str]:
    """S12: the names of the staff alerted about an adverse event, to tell the nurse who knows."""
    return [
        alert.recipient.get_full_name() or alert.recipient.username
        for alert in Alert.objects.filter(adverse_event=event).select_related("recipient").order_by("pk")
    ]


def _staff_with(clinic: Clinic, capability: Capability) -> QuerySet[User]:
    roles = [role.value for role, capabilities in ROLE_CAPABILITIES.items() if capability in capabilities]
    return (
        User.objects.filter(clinics=clinic, is_active=True, groups__name__in=roles)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def witnesses_for(clinic: Clinic, *, nurse) -> QuerySet[User]:
    """S9: the staff a nurse may choose as witness: others of this clinic who record doses."""
    return _staff_with(clinic, Capability.RECORD_DOSES).exclude(pk=nurse.pk)


def prescribers_of(clinic: Clinic) -> QuerySet[User]:
    """S5: who may authorise a reduced dose."""
    return _staff_with(clinic, Capability.PRESCRIBE)


def clinic_staff(clinic: Clinic) -> QuerySet[User]:
    """Every active member of staff of the clinic: what a form accepts, so the rule (not the form) refuses."""
    return User.objects.filter(clinics=clinic, is_active=True).distinct()


def slot_detail(user, pk: int) -> Slot:
    """One slot of the user's clinics with what its page shows (404 otherwise)."""
    return get_object_or_404(
        slots_for(user).select_related("patient", "clinic", "prescription", "status_changed_by"), pk=pk
    )


def slot_checks(slot: Slot) -> list[PreDoseCheck]:
    return list(slot.checks.select_related("checked_by", "authorised_by").order_by("-checked_at", "-pk"))


def adverse_events_of(slot: Slot) -> list:
    return list(
        AdverseEvent.objects.filter(administration__slot=slot)
        .select_related("recorded_by", "administration")
        .order_by("-occurred_at", "-pk")
    )


# --- The dosing board ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardSession:
    date: date
    session: str
    window_start: datetime
    window_end: datetime

    @property
    def label(self) -> str:
        return Session(self.session).label


def current_session(clinic: Clinic, *, now: datetime | None = None) -> BoardSession:
    """The session the board shows: the one running now, or the next one.

    A session stays current until its window has ended and the observation time after it has
    passed, so a dose given in the window's last minute is still watched on the board.
    """
    now = now or timezone.now()
    settings = DosingSettings.for_clinic(clinic)
    today = timezone.localdate(now, clinic.zone)
    for day in (today, date.fromordinal(today.toordinal() + 1)):
        for session in settings.sessions():
            start, end = settings.window(day, session)
            if now < end + settings.observation:
                return BoardSession(date=day, session=session, window_start=start, window_end=end)
    raise AssertionError("tomorrow always has a session")  # pragma: no cover


class Stage:
    """Where a patient is in the session, for the board's column and signal."""

    EXPECTED = "expected"
    ARRIVED = "arrived"
    CHECKED = "checked"
    UNDER_OBSERVATION = "under_observation"
    OBSERVATION_OVER = "observation_over"  # time is up: sign the patient out
    SIGNED_OUT = "signed_out"
    WITHHELD = "withheld"
    REFUSED = "refused"
    MISSED = "missed"
    CANCELLED = "cancelled"
    ON_HOLD = "on_hold"


class Flag:
    """What a nurse must notice before dosing a patient, shown on the board row (plain words in dosing/presentation)."""

    TITRATION = "titration"  # the live prescription is a titration step
    FIRST_DOSE = "first_dose"  # a patient in induction with no dose recorded before this session
    RESTART = "restart_after_hold"  # S7: the first dose since a prescriber cleared a hold
    REDUCED = "reduced_dose"  # S5: a prescriber authorised a reduced dose for this session
    BACK_FROM_ABSENCE = "back_from_absence"  # S7: the first dose since a planned absence ended
    CLINICAL_ALERT = "clinical_alert"  # allergies or a clinical alert on the patient's record
    LICENCE_REVIEW = "licence_review"  # S14: the prescriber's licence does not cover this day


def seconds_left(ends: datetime, now: datetime) -> int:
    """Whole seconds of observation left at `now`, never below 0 (a shared board fills its count-downs with it)."""
    return max(0, int((ends - now).total_seconds()))


@dataclass
class BoardRow:
    slot: Slot
    patient: Patient
    prescription: Prescription
    check: PreDoseCheck | None
    administration: Administration | None  # the entry in force
    original_administration: Administration | None
    sign_out: ObservationSignOut | None
    hold: Hold | None
    stage: str
    now: datetime = field(repr=False)
    licence_review: bool = False  # S14: the prescriber's licence does not cover this day
    last_dose_at: datetime | None = None  # the patient's latest dose before this session's window
    hold_cleared_at: datetime | None = None  # S7: when a prescriber last cleared a hold of the patient
    absence_ended_on: date | None = None  # S7: the last day of the patient's latest planned absence before today
    last_dose_on: date | None = None  # `last_dose_at` as a clinic-local day

    @property
    def flags(self) -> list[str]:
        """The row's flags (Flag values), most urgent first."""
        flags = []
        if self.patient.clinical_alert:
            flags.append(Flag.CLINICAL_ALERT)
        if self.licence_review:
            flags.append(Flag.LICENCE_REVIEW)
        # A patient in maintenance without a recorded dose came from paper records or another service: not a first dose.
        if self.last_dose_at is None and self.patient.status == PatientStatus.INDUCTION:
            flags.append(Flag.FIRST_DOSE)
        if self.hold_cleared_at is not None and (self.last_dose_at is None or self.last_dose_at < self.hold_cleared_at):
            flags.append(Flag.RESTART)
        if self.absence_ended_on is not None and (
            self.last_dose_on is None or self.last_dose_on <= self.absence_ended_on
        ):
            flags.append(Flag.BACK_FROM_ABSENCE)
        if self.prescription.is_titration:
            flags.append(Flag.TITRATION)
        authorised = self.authorised_dose_mg
        if authorised is not None and authorised != self.prescribed_dose_mg:
            flags.append(Flag.REDUCED)
        return flags

    @property
    def photo_url(self) -> str:
        """The access-checked (and access-logged) photo URL, or "" (the page shows initials instead)."""
        return reverse("patient-photo", args=[self.patient.pk]) if self.patient.photo else ""

    @property
    def prescribed_dose_mg(self) -> Decimal | None:
        return self.prescription.dose_for(self.slot.session)

    @property
    def authorised_dose_mg(self) -> Decimal | None:
        """The dose a nurse may give now: the reduced dose when a check of this session authorised one (S5)."""
        reduction = standing_reduction(getattr(self.slot, "checks_newest_first", ()))
        if reduction is not None:
            return reduction.reduced_dose_mg
        if self.check is not None and self.check.outcome == CheckOutcome.REDUCED:
            return self.check.reduced_dose_mg
        return self.prescribed_dose_mg

    @property
    def observation_ends_at(self) -> datetime | None:
        return self.administration.observation_ends_at if self.administration else None

    @property
    def observation_seconds_left(self) -> int | None:
        if self.administration is None or self.sign_out is not None:
            return None
        return seconds_left(self.administration.observation_ends_at, self.now)


@dataclass
class Board:
    clinic: Clinic
    session: BoardSession
    now: datetime
    rows: list[BoardRow]

    def count(self, stage: str) -> int:
        return sum(1 for row in self.rows if row.stage == stage)

    @property
    def under_observation(self) -> list[BoardRow]:
        return [row for row in self.rows if row.stage in (Stage.UNDER_OBSERVATION, Stage.OBSERVATION_OVER)]


def _stage(slot: Slot, administration, sign_out, hold, now: datetime) -> str:
    if slot.status in (SlotStatus.GIVEN, SlotStatus.PARTIAL) and administration is not None:
        if sign_out is not None:
            return Stage.SIGNED_OUT
        return Stage.UNDER_OBSERVATION if now < administration.observation_ends_at else Stage.OBSERVATION_OVER
    if hold is not None and slot.is_open:
        return Stage.ON_HOLD
    return {
        SlotStatus.SCHEDULED: Stage.EXPECTED,
        SlotStatus.ARRIVED: Stage.ARRIVED,
        SlotStatus.CHECKED: Stage.CHECKED,
        SlotStatus.WITHHELD: Stage.WITHHELD,
        SlotStatus.REFUSED: Stage.REFUSED,
        SlotStatus.MISSED: Stage.MISSED,
        SlotStatus.CANCELLED: Stage.CANCELLED,
    }.get(slot.status, Stage.EXPECTED)


BOARD_SLOT_FIELDS = (
    *("id", "patient_id", "clinic_id", "prescription_id", "date", "session", "window_start", "window_end"),
    *("status", "status_reason", "status_changed_at", "arrived_at"),
    *("patient__id", "patient__clinic_id", "patient__given_name", "patient__family_name", "patient__preferred_name"),
    *("patient__photo", "patient__clinical_alert", "patient__status"),
    *("prescription__id", "prescription__patient_id", "prescription__drug", "prescription__route"),
    *("prescription__prescriber_id", "prescription__is_titration"),
    "top_up",
    *("prescription__morning_dose_mg", "prescription__afternoon_dose_mg", "prescription__evening_dose_mg"),
)


def board_for(clinic: Clinic, *, now: datetime | None = None, session: BoardSession | None = None) -> Board:
    """The dosing board of the current (or next) session: one row per slot, in name order.

    Four queries whatever the number of patients (settings, slots with patient and
    prescription, their checks, their administrations with sign-out), plus one for open holds.
    """
    now = now or timezone.now()
    session = session or current_session(clinic, now=now)
    slots = Slot.objects.filter(clinic=clinic, date=session.date, session=session.session)
    return Board(clinic=clinic, session=session, now=now, rows=_board_rows(clinic, slots, on=session.date, now=now))


def slot_board_row(slot: Slot, *, now: datetime | None = None) -> BoardRow | None:
    """The board's row for one slot, flags included (the slot pages' header), from the board's own query."""
    rows = _board_rows(slot.clinic, Slot.objects.filter(pk=slot.pk), on=slot.date, now=now or timezone.now())
    return rows[0] if rows else None


def _board_rows(clinic: Clinic, slots, *, on: date, now: datetime) -> list[BoardRow]:
    slots = list(
        slots.select_related("patient", "prescription")
        # Only what the board shows: a few hundred rows every 3 s per tablet (see `make bench`).
        .only(*BOARD_SLOT_FIELDS)
        # S14: does the prescriber hold a licence for this clinic on this day (no extra query; indexed)?
        .annotate(prescriber_licensed=_licensed_on(clinic, on))
        # The board's flags, as subqueries of the same query (indexed by patient): no query per row.
        .annotate(
            last_dose_at=Subquery(
                Administration.objects.filter(patient=OuterRef("patient"), given_at__lt=OuterRef("window_start"))
                .order_by("-given_at")
                .values("given_at")[:1]
            ),
            hold_cleared_at=Subquery(
                Hold.objects.filter(patient=OuterRef("patient"), cleared_at__isnull=False)
                .order_by("-cleared_at")
                .values("cleared_at")[:1]
            ),
            absence_ended_on=Subquery(
                PlannedAbsence.objects.filter(
                    patient=OuterRef("patient"), withdrawn_at__isnull=True, ends_on__lt=OuterRef("date")
                )
                .order_by("-ends_on")
                .values("ends_on")[:1]
            ),
        )
        .prefetch_related(
            Prefetch(
                "checks",
                queryset=PreDoseCheck.objects.order_by("-checked_at", "-pk"),
                to_attr="checks_newest_first",
            ),
            Prefetch(
                "administrations",
                queryset=Administration.objects.select_related("sign_out").order_by("recorded_at", "pk"),
                to_attr="entries",
            ),
        )
        .order_by("patient__family_name", "patient__given_name", "pk")
    )
    holds = {
        hold.patient_id: hold
        for hold in Hold.objects.filter(patient_id__in=[slot.patient_id for slot in slots], cleared_at__isnull=True)
    }
    rows = []
    for slot in slots:
        entries = slot.entries
        original = next((entry for entry in entries if entry.corrects_id is None), None)
        administration = in_force(entries)
        sign_out = getattr(original, "sign_out", None) if original is not None else None
        hold = holds.get(slot.patient_id)
        rows.append(
            BoardRow(
                slot=slot,
                patient=slot.patient,
                prescription=slot.prescription,
                check=slot.checks_newest_first[0] if slot.checks_newest_first else None,
                administration=administration,
                original_administration=original,
                sign_out=sign_out,
                hold=hold,
                stage=_stage(slot, administration, sign_out, hold, now),
                now=now,
                licence_review=slot.prescription.drug in LICENSED_DRUGS and not slot.prescriber_licensed,
                last_dose_at=slot.last_dose_at,
                hold_cleared_at=slot.hold_cleared_at,
                absence_ended_on=slot.absence_ended_on,
                last_dose_on=timezone.localdate(slot.last_dose_at, clinic.zone) if slot.last_dose_at else None,
            )
        )
    return rows


# --- S14: licences ------------------------------------------------------------------------------------------


def _licensed_on(clinic: Clinic, day: date) -> Exists:
    return Exists(
        PrescriberLicence.objects.filter(
            clinic=clinic, prescriber=OuterRef("prescription__prescriber"), valid_from__lte=day, valid_to__gte=day
        )
    )


def _unlicensed_prescribers(clinic: Clinic, prescriptions, *, day: date) -> set[int]:
    """S14: of the prescribers of these diamorphine prescriptions, those without a licence for `day`. One query."""
    prescribers = {p.prescriber_id for p in prescriptions if p.drug in LICENSED_DRUGS}
    if not prescribers:
        return set()
    licensed = set(
        PrescriberLicence.objects.filter(
            clinic=clinic, prescriber_id__in=prescribers, valid_from__lte=day, valid_to__gte=day
        ).values_list("prescriber_id", flat=True)
    )
    return prescribers - licensed


def licence_reviews(clinic: Clinic, *, day: date) -> list[Prescription]:
    """S14: live diamorphine prescriptions of the clinic whose prescriber's licence does not cover `day`."""
    live = list(
        Prescription.objects.live()
        .filter(patient__clinic=clinic, drug__in=sorted(LICENSED_DRUGS), patient__episodes__ended_on__isnull=True)
        .distinct()
        .select_related("patient", "prescriber")
        .order_by("patient__family_name", "pk")
    )
    unlicensed = _unlicensed_prescribers(clinic, live, day=day)
    return [prescription for prescription in live if prescription.prescriber_id in unlicensed]


def licences_of(clinic: Clinic):
    return PrescriberLicence.objects.filter(clinic=clinic).select_related("prescriber", "recorded_by")


# --- Per-clinic settings -----------------------------------------------------------------------------------


def settings_history(settings: DosingSettings) -> list[dict]:
    """Each change of the clinic's settings in force, newest first: when, who, and each field's old and new value."""
    records = list(settings.history.select_related("history_user").order_by("history_id"))
    changes = []
    for before, after in pairwise(records):
        fields = [
            {"field": name, "label": DosingSettings._meta.get_field(name).verbose_name.capitalize(),
             "old": setting_text(getattr(before, name)), "new": setting_text(getattr(after, name))}
            for name in SETTINGS_FIELDS
            if getattr(before, name) != getattr(after, name)
        ]  # fmt: skip
        if fields:
            clauses = [change_sentences.value_change(f["label"], f["old"], f["new"]) for f in fields]
            sentence = change_sentences.sentence(who=after.history_user, clauses=clauses, at=after.history_date)
            changes.append(
                {"at": after.history_date, "by": after.history_user, "changes": fields, "sentence": sentence}
            )
    return changes[::-1]


# What a prescription version may change, as the history says it (issue 14.8).
_PRESCRIPTION_VALUES = [
    ("morning_dose_mg", "morning dose"),
    ("afternoon_dose_mg", "afternoon dose"),
    ("evening_dose_mg", "evening dose"),
    ("daily_max_mg", "daily maximum"),
    ("route", "route"),
    ("supply", "supply"),
    ("starts_on", "start date"),
    ("ends_on", "end date"),
    ("notes", "notes"),
]


def _prescription_value(prescription: Prescription, name: str) -> str:
    value = getattr(prescription, name)
    if value is None or value == "":
        return ""
    if name.endswith("_mg"):
        return rules.mg(value)
    if name in ("route", "supply"):
        return getattr(prescription, f"get_{name}_display")().lower()
    if name in ("starts_on", "ends_on"):
        return change_sentences.day(value)
    return f"“{value}”"


def _starting(prescription: Prescription) -> str:
    """' starting 25/11/2026' for a version that does not apply from the day it was signed."""
    signed_on = timezone.localtime(prescription.signed_at).date()
    return f" starting {change_sentences.day(prescription.starts_on)}" if prescription.starts_on != signed_on else ""


def _prescribed(prescription: Prescription) -> str:
    doses = [
        f"{label.removesuffix(' dose')} {_prescription_value(prescription, name)}"
        for name, label in _PRESCRIPTION_VALUES[:3]
        if getattr(prescription, name) is not None
    ]
    return (
        f"prescribed {prescription.get_drug_display().lower()}, {prescription.get_route_display().lower()}: "
        f"{', '.join(doses)}, daily maximum {rules.mg(prescription.daily_max_mg)}"
        + (f", until {change_sentences.day(prescription.ends_on)}" if prescription.ends_on else "")
    )


def prescription_changes(versions) -> list[dict]:
    """A patient's prescriptions as sentences, newest first: who prescribed, changed (old to new) and stopped what.

    `versions` is `prescription_history(patient)` (one query: each version with the one it replaced).
    """
    events = []
    for version in versions:
        before = version.supersedes
        if before is None:
            clauses = [_prescribed(version)]
        else:
            clauses = [
                change_sentences.value_change(
                    label, _prescription_value(before, name), _prescription_value(version, name)
                )
                for name, label in _PRESCRIPTION_VALUES
                # A new version applies from its own start: said once, below, only when not from the day signed.
                if name != "starts_on" and getattr(before, name) != getattr(version, name)
            ] or [f"signed a new version of the {version.get_drug_display().lower()} prescription"]
        clauses[-1] += (" as a titration step" if version.is_titration else "") + _starting(version)
        signed = change_sentences.sentence(who=version.prescriber, clauses=clauses, at=version.signed_at)
        events.append((version.signed_at, signed, version))
        if version.stopped_at:
            why = f": {version.stop_reason}" if version.stop_reason else ""
            stopped = f"stopped the {version.get_drug_display().lower()} prescription{why}"
            said = change_sentences.sentence(who=version.stopped_by, clauses=[stopped], at=version.stopped_at)
            events.append((version.stopped_at, said, version))
    events.sort(key=lambda event: event[0], reverse=True)
    return [{"at": at, "sentence": sentence, "prescription": version} for at, sentence, version in events]


# --- Home page work queues (clinics.work_queues) ---------------------------------------------------
#
# The nurse's queues follow the board: the clinic she works in now. The prescriber's span every clinic
# of the user (a prescriber covering two clinics reviews both; the pages show a Clinic column), and each
# count is the length of the very list its page shows, so the two cannot disagree.


def expected_in_session(user, clinic: Clinic, *, now: datetime | None = None) -> int:
    """Patients of the current (or next) session who have not arrived yet: the board's "expected" (a held
    patient's slot is the board's "on hold", not expected)."""
    session = current_session(clinic, now=now or timezone.now())
    return (
        Slot.objects.filter(clinic=clinic, date=session.date, session=session.session, status=SlotStatus.SCHEDULED)
        .exclude(Exists(Hold.objects.filter(patient=OuterRef("patient"), cleared_at__isnull=True)))
        .count()
    )


def waiting_to_sign_out(user, clinic: Clinic, *, now: datetime | None = None) -> int:
    """S6: doses of the board's session whose observation is over and whose patient is not signed out yet."""
    now = now or timezone.now()
    session = current_session(clinic, now=now)
    return Administration.objects.filter(
        slot__clinic=clinic,
        slot__date=session.date,
        slot__session=session.session,
        corrects__isnull=True,
        sign_out__isnull=True,
        observation_ends_at__lte=now,
    ).count()


def holds_to_review_for(user) -> QuerySet[Hold]:
    """S7: the open holds of all the user's clinics, oldest first (the hold review page and its count)."""
    return (
        holds_for(user)
        .filter(cleared_at__isnull=True)
        .select_related("patient__clinic", "prescription")
        .order_by("since", "pk")
    )


def holds_waiting(user, clinic: Clinic | None = None) -> int:
    return holds_to_review_for(user).count()


def licence_reviews_for(user, *, now: datetime | None = None) -> list[Prescription]:
    """S14: `licence_reviews` of each of the user's clinics, each on its own local day."""
    if not has_capability(user, Capability.RECORD_DOSES):
        return []
    now = now or timezone.now()
    return [
        prescription
        for clinic in clinic_list(user)
        for prescription in licence_reviews(clinic, day=timezone.localdate(now, clinic.zone))
    ]


REDUCTION_REVIEW_DAYS = 7
LICENCE_EXPIRY_DAYS = 30  # S14: the first expiry alert comes 30 days before


@dataclass
class ReductionToReview:
    """S5: a patient whose dose was reduced at a pre-dose check lately, on a prescription nobody changed since."""

    patient: Patient
    prescription: Prescription
    latest: PreDoseCheck
    times: int


def reductions_to_review(user, *, now: datetime | None = None) -> list[ReductionToReview]:
    """Reduced doses of the last 7 days (clinic-local) on a prescription still live: should it change?

    A reduction is authorised by a prescriber at the check and stands for one session (S5); one
    that keeps coming back belongs in the prescription. Signing a new version (or stopping it)
    takes the patient off the list. One query.
    """
    if not has_capability(user, Capability.PRESCRIBE):
        return []
    now = now or timezone.now()
    earliest = min(
        (timezone.localdate(now, clinic.zone) for clinic in clinic_list(user)), default=timezone.localdate(now)
    )
    checks = (
        PreDoseCheck.objects.filter(
            slot__clinic__in=clinic_list(user),
            outcome=CheckOutcome.REDUCED,
            slot__date__gte=date.fromordinal(earliest.toordinal() - REDUCTION_REVIEW_DAYS + 1),
            slot__prescription__superseded_at__isnull=True,
            slot__prescription__stopped_at__isnull=True,
        )
        .select_related("slot__patient__clinic", "slot__prescription", "authorised_by")
        .order_by("-checked_at", "-pk")
    )
    by_patient: dict[int, ReductionToReview] = {}
    for check in checks:
        slot = check.slot
        today = timezone.localdate(now, slot.patient.clinic.zone)
        if (today - slot.date).days >= REDUCTION_REVIEW_DAYS:
            continue
        if slot.patient_id in by_patient:
            by_patient[slot.patient_id].times += 1
        else:
            by_patient[slot.patient_id] = ReductionToReview(slot.patient, slot.prescription, check, 1)
    return sorted(by_patient.values(), key=lambda item: (item.patient.family_name, item.patient.pk))


def titrations_due(user, *, now: datetime | None = None) -> list[Prescription]:
    """Live titration steps signed before today (clinic-local): the next step, or the end of titration, is due.

    Each induction step is one prescription version set by the prescriber (SPEC 4); a step still in
    force on a later day waits for them. Patients in treatment only. One query.
    """
    if not has_capability(user, Capability.PRESCRIBE):
        return []
    now = now or timezone.now()
    live = (
        Prescription.objects.live()
        .filter(
            Exists(Episode.objects.filter(patient=OuterRef("patient"), ended_on__isnull=True)),
            patient__clinic__in=clinic_list(user),
            is_titration=True,
        )
        .select_related("patient__clinic", "prescriber")
        .order_by("signed_at", "pk")
    )
    return [
        prescription
        for prescription in live
        if timezone.localdate(prescription.signed_at, prescription.patient.clinic.zone)
        < timezone.localdate(now, prescription.patient.clinic.zone)
    ]


def licence_expiries(user, *, now: datetime | None = None) -> list[PrescriberLicence]:
    """S14: each prescriber's latest licence at each of the user's clinics, if it ends within 30 days or
    ended in the last 30 (no renewal recorded yet), soonest first. One query."""
    if not has_capability(user, Capability.PRESCRIBE):
        return []
    now = now or timezone.now()
    clinics = clinic_list(user)
    licences = (
        PrescriberLicence.objects.filter(clinic__in=clinics, prescriber__is_active=True)
        .select_related("prescriber", "clinic")
        .order_by("prescriber_id", "clinic_id", "-valid_to", "-pk")
    )
    latest: dict[tuple[int, int], PrescriberLicence] = {}
    for licence in licences:
        latest.setdefault((licence.prescriber_id, licence.clinic_id), licence)
    due = []
    for licence in latest.values():
        days_left = (licence.valid_to - timezone.localdate(now, licence.clinic.zone)).days
        if -LICENCE_EXPIRY_DAYS <= days_left < LICENCE_EXPIRY_DAYS:
            licence.days_left = days_left
            due.append(licence)
    return sorted(due, key=lambda licence: (licence.valid_to, licence.prescriber.last_name, licence.pk))


def reductions_waiting(user, clinic: Clinic | None = None) -> int:
    return len(reductions_to_review(user))


def titrations_waiting(user, clinic: Clinic | None = None) -> int:
    return len(titrations_due(user))


def licences_expiring(user, clinic: Clinic | None = None) -> int:
    return len(licence_expiries(user))


def unread_alert_count(user) -> int:
    """The header badge: the unread alerts of the alerts page (holds, adverse events, licences), same clinics."""
    return alerts_for(user).filter(read_at__isnull=True).count()


# --- Planned absences (S7) ------------------------------------------------------------------------------------------


def absences_of(patient: Patient) -> QuerySet[PlannedAbsence]:
    """A patient's planned absences in force, latest first."""
    return patient.planned_absences.filter(withdrawn_at__isnull=True).select_related("recorded_by")


def away_on(clinic: Clinic, day) -> list[PlannedAbsence]:
    """Who of the clinic is away on `day` (the board shows them): one query."""
    return list(
        PlannedAbsence.objects.filter(
            patient__clinic=clinic, withdrawn_at__isnull=True, starts_on__lte=day, ends_on__gte=day
        )
        .select_related("patient")
        .order_by("patient__family_name", "patient__given_name", "pk")
    )
