"""Staff API for the dosing board: thin views that call dosing.services and dosing.selectors.

Every object is looked up from the user's clinics (another clinic's object is a 404). The
rules are decided in the domain layer only: a refusal comes back as a 400 problem body whose
`errors` name the field (e.g. `dose_mg`, `witness_password`) and whose message starts with
the rule id ("S4 · ..."). Session authentication (the tablet's signed-in nurse).

A GET of one patient's dosing or prescriptions writes one access-log entry (SPEC 8) once the
object is found; the board and the lists of holds and alerts cover many patients and write none.
"""

from functools import partial

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cd_register import selectors as register_selectors
from clinics.access import has_capability
from clinics.parsing import AsciiIntegerField
from clinics.roles import Capability
from clinics.selectors import clinic_list, user_by_id
from patients.models import AccessLogEntry, AccessPart
from patients.services import access_log_record

from . import board_cache, board_version, history, rules, selectors, services
from .models import (
    AdverseEventKind,
    CheckOutcome,
    Drug,
    InjectionSite,
    Route,
    Sedation,
    Session,
    SignOutState,
    Supply,
)


def needs(*capabilities: Capability):
    """A permission class: the user holds one of `capabilities`."""

    class Permission(BasePermission):
        message = "This needs the '{}' permission.".format("' or '".join(c.label for c in capabilities))

        def has_permission(self, request, view):
            return any(has_capability(request.user, capability) for capability in capabilities)

    Permission.__name__ = "Needs" + "Or".join(c.name.title().replace("_", "") for c in capabilities)
    return Permission


def _named_user(request, field: str, refuse, read=user_by_id):
    """A member of staff named by id, whoever they are: the rule then refuses anyone not of the slot's clinic.

    An id that names no one is refused (`refuse()`) by the same sentence as another clinic's staff,
    so the answer tells nothing about who exists elsewhere.
    """
    pk = request.data.get(field)
    if pk in (None, ""):
        return None
    text = str(pk)
    user = read(int(text)) if text.isascii() and text.isdigit() and int(text) < 2**63 else None
    if user is None:
        refuse()
    return user


def _witness_of(request, clinic):
    """S9: the witness named by id (see `_named_user`) for a dose at `clinic`, read with whether they may witness
    there (`selectors.witness_at`)."""
    return _named_user(request, "witness", rules.refuse_unknown_witness, read=partial(selectors.witness_at, clinic))


def _prescriber_of(request, field: str, rule: str, what: str):
    """S5, S7: the prescriber named by id, whose own PIN must then authorise (see `_named_user`)."""

    def refuse():
        raise rules.RuleViolation(rule, f"{what} needs the authorisation of a prescriber of this clinic", field=field)

    return _named_user(request, field, refuse)


def _viewed(request, patient, part: AccessPart) -> None:
    """SPEC 8: one entry for this read of a patient's record (a refused request never gets here)."""
    access_log_record(user=request.user, patient=patient, what=part, channel=AccessLogEntry.Channel.API)


def _query(serializer_class: type[serializers.Serializer], request) -> dict:
    """The validated query parameters: a malformed one (`?clinic=false`) is a 400 naming it, not a 500."""
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


# --- Input: the ampoules drawn -------------------------------------------------------------------


class AmpouleIn(serializers.Serializer):
    """One line of the nurse's choice of ampoules (a row's refusal reads "Ampoules: item 2, count: ...")."""

    # Bounded like the primary key it names: a larger number would reach the database as an error, not a 400.
    register = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="Id of a controlled-drug register of the slot's clinic and drug."
    )
    count = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=0, help_text="Ampoules or vials drawn (whole), or ml of a solution."
    )


def _ampoules_of(request, data: dict) -> list | None:
    """The `ampoules` of a request as (register, count) pairs, or None when not given (the register's default).

    Registers are looked up in the user's clinics only; the register service then refuses one of
    another clinic or drug, a choice short of the dose, and too little stock, each on `ampoules`.
    """
    chosen = data.get("ampoules")
    if chosen is None:
        return None
    ids = {line["register"] for line in chosen}
    registers = register_selectors.registers_for(request.user).in_bulk(ids) if ids else {}
    unknown = sorted(ids - set(registers))
    if unknown:
        raise serializers.ValidationError(
            {"ampoules": f"Ampoules: no controlled-drug register of your clinics has id {unknown[0]}."}
        )
    return [(registers[line["register"]], line["count"]) for line in chosen]


# --- Output -----------------------------------------------------------------------------------------


class StaffOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="get_full_name")


class PrescriptionOut(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.IntegerField(source="patient_id")
    drug = serializers.ChoiceField(choices=Drug.choices)
    route = serializers.ChoiceField(choices=Route.choices)
    supply = serializers.ChoiceField(choices=Supply.choices)
    morning_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
    afternoon_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
    evening_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
    daily_max_mg = serializers.DecimalField(max_digits=7, decimal_places=2)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(allow_null=True)
    is_titration = serializers.BooleanField()
    notes = serializers.CharField()
    prescriber = StaffOut()
    signed_at = serializers.DateTimeField()
    supersedes = serializers.IntegerField(source="supersedes_id", allow_null=True)
    superseded_at = serializers.DateTimeField(allow_null=True)
    stopped_at = serializers.DateTimeField(allow_null=True)
    stop_reason = serializers.CharField()


class CheckOut(serializers.Serializer):
    id = serializers.IntegerField()
    sedation = serializers.ChoiceField(choices=Sedation.choices)
    intoxication_signs = serializers.BooleanField()
    withdrawal_signs = serializers.BooleanField()
    breath_alcohol_ug = serializers.DecimalField(max_digits=5, decimal_places=1)
    outcome = serializers.ChoiceField(choices=CheckOutcome.choices)
    withhold_reason = serializers.CharField()
    reduced_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
    authorised_by = serializers.IntegerField(source="authorised_by_id", allow_null=True)
    authorised_at = serializers.DateTimeField(allow_null=True)
    authorised_with = serializers.CharField(help_text="session or pin (S5: the prescriber's own act); empty if none")
    checked_by = serializers.IntegerField(source="checked_by_id")
    checked_at = serializers.DateTimeField()
    notes = serializers.CharField()


class AdministrationOut(serializers.Serializer):
    id = serializers.IntegerField()
    slot = serializers.IntegerField(source="slot_id")
    prescription = serializers.IntegerField(source="prescription_id")
    drug = serializers.ChoiceField(choices=Drug.choices)
    dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2)
    prescribed_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2)
    route = serializers.ChoiceField(choices=Route.choices)
    injection_site = serializers.CharField()
    given_at = serializers.DateTimeField()
    nurse = serializers.IntegerField(source="nurse_id")
    witness = serializers.IntegerField(source="witness_id")
    observation_ends_at = serializers.DateTimeField()
    corrects = serializers.IntegerField(source="corrects_id", allow_null=True)
    correction_reason = serializers.CharField()
    recorded_at = serializers.DateTimeField()


# Built once per process: a serializer deep-copies its declared fields whenever one is made, which cost a
# fifth of a millisecond on every dose for the same answer. Its fields keep no state between calls.
_ADMINISTRATION_OUT = AdministrationOut()


def _administration_out(administration) -> dict:
    """`AdministrationOut(administration).data`, written by the one serializer built for the process."""
    return _ADMINISTRATION_OUT.to_representation(administration)


class SignOutOut(serializers.Serializer):
    id = serializers.IntegerField()
    administration = serializers.IntegerField(source="administration_id")
    state = serializers.ChoiceField(choices=SignOutState.choices)
    notes = serializers.CharField()
    signed_out_by = serializers.IntegerField(source="signed_out_by_id")
    signed_out_at = serializers.DateTimeField()


class HoldOut(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.IntegerField(source="patient_id")
    prescription = serializers.IntegerField(source="prescription_id")
    since = serializers.DateTimeField()
    missed_since = serializers.DateField()
    missed_days = serializers.IntegerField()
    reason = serializers.CharField()
    cleared_at = serializers.DateTimeField(allow_null=True)
    cleared_by = serializers.IntegerField(source="cleared_by_id", allow_null=True)
    cleared_with = serializers.CharField(help_text="session or pin (S7: the prescriber's own act); empty if open")
    restart_prescription = serializers.IntegerField(source="restart_prescription_id", allow_null=True)


class SlotOut(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.IntegerField(source="patient_id")
    date = serializers.DateField()
    session = serializers.CharField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    status = serializers.CharField()
    status_reason = serializers.CharField()
    top_up = serializers.BooleanField(help_text="The once-a-day slot of an oral top-up beside the injectable.")


class AdverseEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    administration = serializers.IntegerField(source="administration_id")
    kind = serializers.ChoiceField(choices=AdverseEventKind.choices)
    occurred_at = serializers.DateTimeField()
    naloxone_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
    naloxone_given_at = serializers.DateTimeField(allow_null=True)
    notes = serializers.CharField()


class AlertOut(serializers.Serializer):
    id = serializers.IntegerField()
    clinic = serializers.IntegerField(source="clinic_id")
    kind = serializers.CharField()
    message = serializers.CharField()
    adverse_event = serializers.IntegerField(source="adverse_event_id", allow_null=True)
    hold = serializers.IntegerField(source="hold_id", allow_null=True)
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class SlotDetailOut(SlotOut):
    """A slot with its checks and every dose entry (S10: the original and its corrections, oldest first)."""

    checks = CheckOut(many=True)
    administrations = AdministrationOut(many=True)
    in_force = serializers.IntegerField(allow_null=True)


BOARD_FLAGS = [
    (selectors.Flag.CLINICAL_ALERT, "Allergies or a clinical alert on the patient's record"),
    (selectors.Flag.LICENCE_REVIEW, "S14: the prescriber's licence lapsed"),
    (selectors.Flag.FIRST_DOSE, "A patient in induction with no dose recorded before this session"),
    (selectors.Flag.RESTART, "S7: the first dose since a prescriber cleared a hold"),
    (selectors.Flag.BACK_FROM_ABSENCE, "S7: the first dose since a planned absence ended"),
    (selectors.Flag.TITRATION, "The prescription is a titration step"),
    (selectors.Flag.REDUCED, "S5: a reduced dose is authorised for this session"),
]


class BoardRowOut(serializers.Serializer):
    class PatientOut(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField(source="display_name")

    slot = SlotOut()
    patient = PatientOut()
    photo_url = serializers.CharField()
    stage = serializers.CharField()
    prescription = serializers.IntegerField(source="prescription.pk")
    drug = serializers.CharField(source="prescription.drug")
    route = serializers.CharField(source="prescription.route")
    prescribed_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
    authorised_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
    check = CheckOut(allow_null=True)
    administration = AdministrationOut(allow_null=True)
    observation_ends_at = serializers.DateTimeField(allow_null=True)
    observation_seconds_left = serializers.IntegerField(allow_null=True)
    signed_out_at = serializers.DateTimeField(source="sign_out.signed_out_at", allow_null=True, default=None)
    hold = HoldOut(allow_null=True)
    licence_review = serializers.BooleanField(
        help_text="S14: the prescriber's licence lapsed; prescriber review needed"
    )
    flags = serializers.ListField(
        child=serializers.ChoiceField(choices=BOARD_FLAGS),
        help_text="What to notice before dosing, most urgent first (the patient's record holds the alert's words).",
    )


class BoardOut(serializers.Serializer):
    clinic = serializers.IntegerField(source="clinic.pk")
    date = serializers.DateField(source="session.date")
    session = serializers.CharField(source="session.session")
    window_start = serializers.DateTimeField(source="session.window_start")
    window_end = serializers.DateTimeField(source="session.window_end")
    now = serializers.DateTimeField()
    rows = BoardRowOut(many=True)


# --- Views ------------------------------------------------------------------------------------------------

DOSING = [IsAuthenticated, needs(Capability.RECORD_DOSES)]
WITNESS_HELP = "Id of the witnessing member of staff of the slot's clinic (S9: not the nurse)."
PRESCRIBING = [IsAuthenticated, needs(Capability.PRESCRIBE)]


class BoardView(APIView):
    """The board of the current (or next) session of a clinic: poll it every few seconds (read-only for managers)."""

    permission_classes = [IsAuthenticated, needs(Capability.RECORD_DOSES, Capability.VIEW_BOARD)]

    class BoardQuery(serializers.Serializer):
        clinic = AsciiIntegerField(required=False, min_value=1, help_text="Clinic id (default: the current clinic).")

    @extend_schema(
        parameters=[
            OpenApiParameter("clinic", OpenApiTypes.INT, description="Clinic id (default: the current clinic)."),
            OpenApiParameter(
                "If-None-Match",
                OpenApiTypes.STR,
                location=OpenApiParameter.HEADER,
                description="The ETag of the board you have: 304 with no body while it is unchanged.",
            ),
        ],
        responses={200: BoardOut, 304: OpenApiResponse(description="Unchanged since the ETag sent.")},
    )
    def get(self, request):
        """Send If-None-Match with the last ETag: an unchanged board answers 304 with no body after one query.

        A 304 means nothing changed but the clock: count `observation_seconds_left` down from
        `observation_ends_at`. The ETag also expires when the board would change by the clock alone.
        """
        clinic_id = _query(self.BoardQuery, request).get("clinic")
        clinics = clinic_list(request.user)  # the user's clinics, already read for this request
        if clinic_id is not None:
            clinic = next((mine for mine in clinics if mine.pk == clinic_id), None)
            if clinic is None:
                raise Http404
        else:
            clinic = request.clinic or (clinics[0] if clinics else None)
        if clinic is None:
            return Response({"detail": "You work in no clinic."}, status=status.HTTP_404_NOT_FOUND)
        version = board_version.read(clinic.pk)  # before the rows: see dosing/board_version.py
        now = timezone.now()
        same = board_version.unchanged(
            request.headers.get("If-None-Match"), kind="json", clinic_id=clinic.pk, version=version, now=now
        )
        if same:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": same})
        # Serialized once per clinic and version for everyone who may see the board (dosing/board_cache.py).
        cache_key = board_cache.key("json", clinic.pk, version, audience="all")
        kept = board_cache.shared(cache_key, now, board_cache.Serialized)
        if kept is None:
            board = selectors.board_for(clinic, now=now)
            kept = board_cache.Serialized(
                etag=board_version.etag("json", board, version),
                valid_until_ms=board_version.valid_until_ms(board),
                data=BoardOut(board).data,
                ends=tuple(row.observation_ends_at if row.observation_seconds_left is not None else None
                           for row in board.rows),
            )  # fmt: skip
            board_cache.keep(cache_key, kept, now)
        now_text = BoardOut().fields["now"].to_representation(now)
        return Response(kept.at(now, now_text), headers={"ETag": kept.etag})


class SlotDetailView(APIView):
    permission_classes = DOSING

    @extend_schema(responses=SlotDetailOut)
    def get(self, request, pk):
        slot = selectors.slot_detail(request.user, pk)
        _viewed(request, slot.patient, AccessPart.DOSING)
        entries = selectors.administration_entries(slot)
        current = selectors.in_force(entries)
        data = SlotOut(slot).data
        data["checks"] = CheckOut(selectors.slot_checks(slot), many=True).data
        data["administrations"] = AdministrationOut(entries, many=True).data
        data["in_force"] = current.pk if current else None
        return Response(data)


class ArriveView(APIView):
    permission_classes = DOSING

    @extend_schema(request=None, responses=SlotOut)
    def post(self, request, pk):
        slot = selectors.slot_of(request.user, pk)
        return Response(SlotOut(services.slot_mark_arrived(slot=slot, nurse=request.user)).data)


class CheckView(APIView):
    """S5: the pre-dose check. A reduced dose is the prescriber's own act.

    A prescriber signed in authorises it themselves (leave `authorised_by` out); a nurse names the
    prescriber (`authorised_by`), who types their own PIN (`authoriser_pin`) on the nurse's device.
    """

    permission_classes = DOSING

    class PreDoseCheckIn(serializers.Serializer):
        sedation = serializers.ChoiceField(choices=Sedation.choices)
        intoxication_signs = serializers.BooleanField()
        withdrawal_signs = serializers.BooleanField()
        breath_alcohol_ug = serializers.DecimalField(max_digits=5, decimal_places=1, min_value=0)
        outcome = serializers.ChoiceField(choices=CheckOutcome.choices)
        withhold_reason = serializers.CharField(required=False, allow_blank=True, default="")
        reduced_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, required=False, allow_null=True)
        authorised_by = serializers.IntegerField(required=False, allow_null=True)
        authoriser_pin = serializers.CharField(
            required=False, allow_blank=True, default="", trim_whitespace=False, style={"input_type": "password"}
        )
        notes = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=PreDoseCheckIn, responses={201: CheckOut})
    def post(self, request, pk):
        slot = selectors.slot_of(request.user, pk)
        data = self.PreDoseCheckIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {
            **data.validated_data,
            "authorised_by": _prescriber_of(request, "authorised_by", "S5", "A reduced dose"),
        }
        check = services.record_pre_dose_check(slot=slot, checked_by=request.user, **fields)
        return Response(CheckOut(check).data, status=status.HTTP_201_CREATED)


class AdministerView(APIView):
    """Record the dose (S1-S9, S11). The witness confirms with their own password.

    The controlled-drug register lines are written with the dose: the register's least-waste
    proposal, or the nurse's own `ampoules` (refused on `ampoules` when they cannot be right).
    """

    permission_classes = DOSING

    class AdministerIn(serializers.Serializer):
        dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2)
        route = serializers.ChoiceField(choices=Route.choices)
        injection_site = serializers.ChoiceField(choices=InjectionSite.choices, required=False, allow_blank=True)
        witness = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text=WITNESS_HELP)
        witness_password = serializers.CharField(
            trim_whitespace=False, required=False, allow_blank=True, default="", style={"input_type": "password"}
        )
        ampoules = AmpouleIn(
            many=True,
            required=False,
            help_text="The ampoules drawn, when not the register's least-waste proposal (leave out for the proposal).",
        )

    @extend_schema(request=AdministerIn, responses={201: AdministrationOut})
    def post(self, request, pk):
        slot = selectors.slot_of(request.user, pk)
        data = self.AdministerIn(data=request.data)
        data.is_valid(raise_exception=True)
        given = services.administer_dose(
            slot=slot,
            dose_mg=data.validated_data["dose_mg"],
            route=data.validated_data["route"],
            injection_site=data.validated_data.get("injection_site", ""),
            nurse=request.user,
            witness=_witness_of(request, slot.clinic),
            witness_password=data.validated_data["witness_password"],
            ampoules=_ampoules_of(request, data.validated_data),
        )
        return Response(_administration_out(given), status=status.HTTP_201_CREATED)


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField()


class RefuseView(APIView):
    permission_classes = DOSING

    @extend_schema(request=ReasonIn, responses=SlotOut)
    def post(self, request, pk):
        slot = selectors.slot_of(request.user, pk)
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        slot = services.record_refusal(slot=slot, nurse=request.user, reason=data.validated_data["reason"])
        return Response(SlotOut(slot).data)


class WithholdView(APIView):
    permission_classes = DOSING

    @extend_schema(request=ReasonIn, responses=SlotOut)
    def post(self, request, pk):
        slot = selectors.slot_of(request.user, pk)
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        slot = services.withhold_dose(slot=slot, nurse=request.user, reason=data.validated_data["reason"])
        return Response(SlotOut(slot).data)


class SignOutView(APIView):
    """S6: refused before the observation has ended; a repeat returns the first sign-out."""

    permission_classes = DOSING

    class SignOutIn(serializers.Serializer):
        state = serializers.ChoiceField(choices=SignOutState.choices)
        notes = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=SignOutIn, responses=SignOutOut)
    def post(self, request, pk):
        administration = get_object_or_404(selectors.administrations_for(request.user), pk=pk)
        data = self.SignOutIn(data=request.data)
        data.is_valid(raise_exception=True)
        sign_out = services.sign_out_after_observation(
            administration=administration, signed_out_by=request.user, **data.validated_data
        )
        return Response(SignOutOut(sign_out).data)


class CorrectionView(APIView):
    """S10: a new, witnessed entry that points at the one it corrects; nothing is edited.

    The controlled-drug register follows in the same transaction: without `ampoules` the waste
    follows the corrected dose; with them (`[]`: nothing was drawn) the draw itself is corrected.
    """

    permission_classes = DOSING

    class CorrectionIn(serializers.Serializer):
        reason = serializers.CharField()
        dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=0)
        route = serializers.ChoiceField(choices=Route.choices)
        injection_site = serializers.ChoiceField(choices=InjectionSite.choices, required=False, allow_blank=True)
        given_at = serializers.DateTimeField()
        witness = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text=WITNESS_HELP)
        witness_password = serializers.CharField(
            trim_whitespace=False, required=False, allow_blank=True, default="", style={"input_type": "password"}
        )
        ampoules = AmpouleIn(
            many=True,
            required=False,
            allow_null=True,
            help_text="The ampoules really drawn, when not those recorded ([] if none was drawn). Leave out when "
            "only the dose differs: the register's waste follows the corrected dose.",
        )

    @extend_schema(request=CorrectionIn, responses={201: AdministrationOut})
    def post(self, request, pk):
        administration = get_object_or_404(selectors.administrations_for(request.user), pk=pk)
        data = self.CorrectionIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {
            **data.validated_data,
            "witness": _witness_of(request, administration.slot.clinic),
            "ampoules": _ampoules_of(request, data.validated_data),
        }
        fields.setdefault("injection_site", "")
        correction = services.correct_administration(administration=administration, author=request.user, **fields)
        return Response(_administration_out(correction), status=status.HTTP_201_CREATED)


class AdverseEventView(APIView):
    """S12: recorded against the dose; the prescriber is alerted."""

    permission_classes = DOSING

    class AdverseEventIn(serializers.Serializer):
        kind = serializers.ChoiceField(choices=AdverseEventKind.choices)
        occurred_at = serializers.DateTimeField(required=False)
        naloxone_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, required=False, allow_null=True)
        naloxone_given_at = serializers.DateTimeField(required=False, allow_null=True)
        notes = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=AdverseEventIn, responses={201: AdverseEventOut})
    def post(self, request, pk):
        administration = get_object_or_404(selectors.administrations_for(request.user), pk=pk)
        data = self.AdverseEventIn(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.record_adverse_event(
            administration=administration, recorded_by=request.user, **data.validated_data
        )
        return Response(AdverseEventOut(event).data, status=status.HTTP_201_CREATED)


class HoldListView(APIView):
    """S7: patients on hold in the user's clinics, oldest first."""

    permission_classes = DOSING

    @extend_schema(responses=HoldOut(many=True))
    def get(self, request):
        holds = selectors.holds_for(request.user).filter(cleared_at__isnull=True).order_by("since", "pk")
        return Response(HoldOut(holds, many=True).data)


class ClearHoldView(APIView):
    """S7: the prescriber's review sets the restart dose (a new prescription version) and clears the hold.

    The prescriber's own act: signed in themselves, or named (`prescriber`) on a nurse's device
    where they type their own PIN (`prescriber_pin`).
    """

    permission_classes = DOSING

    class ClearHoldIn(serializers.Serializer):
        morning_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
        afternoon_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
        evening_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, required=False, allow_null=True)
        notes = serializers.CharField(required=False, allow_blank=True, default="")
        prescriber = serializers.IntegerField(required=False, allow_null=True, help_text="Only on a nurse's device.")
        prescriber_pin = serializers.CharField(
            required=False, allow_blank=True, default="", trim_whitespace=False, style={"input_type": "password"}
        )

    @extend_schema(request=ClearHoldIn, responses=HoldOut)
    def post(self, request, pk):
        hold = get_object_or_404(selectors.holds_for(request.user), pk=pk)
        data = self.ClearHoldIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields["prescriber"] = _prescriber_of(request, "prescriber", "S7", "Clearing the hold")
        hold = services.clear_hold(hold=hold, recorded_by=request.user, **fields)
        return Response(HoldOut(hold).data)


class PrescriptionIn(serializers.Serializer):
    route = serializers.ChoiceField(choices=Route.choices)
    supply = serializers.ChoiceField(choices=Supply.choices, required=False, default=Supply.SUPERVISED)
    morning_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, required=False, allow_null=True)
    afternoon_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, required=False, allow_null=True)
    evening_dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, required=False, allow_null=True)
    daily_max_mg = serializers.DecimalField(max_digits=7, decimal_places=2)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(required=False, allow_null=True)
    is_titration = serializers.BooleanField(required=False, default=False)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class PrescriptionListView(APIView):
    """Live prescriptions of a patient (`?patient=`); prescribers sign new ones."""

    permission_classes = DOSING

    class PrescriptionCreateIn(PrescriptionIn):
        patient = serializers.IntegerField()
        drug = serializers.ChoiceField(choices=Drug.choices)

    def get_permissions(self):
        if self.request.method == "POST":
            return [permission() for permission in PRESCRIBING]
        return super().get_permissions()

    class PrescriptionQuery(serializers.Serializer):
        patient = serializers.IntegerField(help_text="Patient id.")

    @extend_schema(
        parameters=[OpenApiParameter("patient", OpenApiTypes.INT, required=True, description="Patient id.")],
        responses=PrescriptionOut(many=True),
    )
    def get(self, request):
        patient_id = _query(self.PrescriptionQuery, request)["patient"]
        patient = get_object_or_404(selectors.dosing_patients_for(request.user), pk=patient_id)
        _viewed(request, patient, AccessPart.PRESCRIPTIONS)
        return Response(PrescriptionOut(selectors.prescription_history(patient), many=True).data)

    @extend_schema(request=PrescriptionCreateIn, responses={201: PrescriptionOut})
    def post(self, request):
        data = self.PrescriptionCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        patient = get_object_or_404(selectors.dosing_patients_for(request.user), pk=fields.pop("patient"))
        prescription = services.prescription_create(patient=patient, prescriber=request.user, **fields)
        return Response(PrescriptionOut(prescription).data, status=status.HTTP_201_CREATED)


class PrescriptionVersionView(APIView):
    """A change: a new signed version superseding this one (send only what changes)."""

    permission_classes = PRESCRIBING

    class PrescriptionChangeIn(PrescriptionIn):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for field in self.fields.values():
                field.required = False
                field.default = serializers.empty

    @extend_schema(request=PrescriptionChangeIn, responses={201: PrescriptionOut})
    def post(self, request, pk):
        prescription = get_object_or_404(selectors.prescriptions_for(request.user), pk=pk)
        data = self.PrescriptionChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        new = services.prescription_change(prescription=prescription, prescriber=request.user, **data.validated_data)
        return Response(PrescriptionOut(new).data, status=status.HTTP_201_CREATED)


class PrescriptionStopView(APIView):
    permission_classes = PRESCRIBING

    @extend_schema(request=ReasonIn, responses=PrescriptionOut)
    def post(self, request, pk):
        prescription = get_object_or_404(selectors.prescriptions_for(request.user), pk=pk)
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        stopped = services.prescription_stop(
            prescription=prescription, prescriber=request.user, reason=data.validated_data["reason"]
        )
        return Response(PrescriptionOut(stopped).data)


class AlertListView(APIView):
    """The signed-in prescriber's alerts (S12 adverse events, S7 holds), unread first."""

    permission_classes = PRESCRIBING

    @extend_schema(responses=AlertOut(many=True))
    def get(self, request):
        return Response(AlertOut(selectors.alerts_for(request.user)[:100], many=True).data)


class AlertReadView(APIView):
    permission_classes = PRESCRIBING

    @extend_schema(request=None, responses=AlertOut)
    def post(self, request, pk):
        alert = get_object_or_404(selectors.alerts_for(request.user), pk=pk)
        return Response(AlertOut(services.alert_mark_read(alert=alert, user=request.user)).data)


# --- Dose and attendance history -----------------------------------------------------------------


class DoseHistoryCellOut(serializers.Serializer):
    session = serializers.ChoiceField(choices=Session.choices)
    state = serializers.ChoiceField(choices=list(history.STATES.items()))
    label = serializers.CharField(help_text="The words the page shows in the cell.")
    detail = serializers.CharField(help_text="A reason (withheld, refused, hold) or a correction note; may be empty.")
    dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
    prescribed_mg = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
    slot_id = serializers.IntegerField(allow_null=True)


class DoseHistoryDayOut(serializers.Serializer):
    date = serializers.DateField()
    cells = DoseHistoryCellOut(many=True)


class DoseHistoryOut(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    sessions = serializers.ListField(child=serializers.ChoiceField(choices=Session.choices))
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Cells of each state in the range.")
    days = DoseHistoryDayOut(many=True, help_text="Newest first.")


class PatientHistoryView(APIView):
    """A patient's doses and attendance per day and session (given, partial, missed, withheld, refused, held, away)."""

    permission_classes = DOSING

    class HistoryQuery(serializers.Serializer):
        days = serializers.IntegerField(
            min_value=1, max_value=history.MAX_DAYS, default=history.DEFAULT_DAYS, help_text="Days up to today."
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "days", OpenApiTypes.INT, description=f"Days up to today (1-{history.MAX_DAYS}, default 28)."
            )
        ],
        responses=DoseHistoryOut,
    )
    def get(self, request, pk):
        days = _query(self.HistoryQuery, request)["days"]
        patient = get_object_or_404(selectors.dosing_patients_for(request.user), pk=pk)
        _viewed(request, patient, AccessPart.DOSING)
        return Response(DoseHistoryOut(history.dose_history(patient, end=timezone.localdate(), days=days)).data)
