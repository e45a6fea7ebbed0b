"""The partner API for onward referrals (SPEC 6), under /api/v1/partner/. Thin: services decide.

A partner sees only its own referrals, and only while the patient's data-sharing consent with
it is live: anything else is 404, never 403, so a partner learns nothing about who else we
refer. Reads carry an ETag; every change needs If-Match (428 without, 412 when stale); every
POST honours Idempotency-Key (clinics/idempotency.py).
"""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from clinics.idempotency import IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENCY_RESPONSES, idempotent
from partners.api import PARTNER_ERROR_RESPONSES, ProblemSerializer
from partners.api_auth import PartnerAPIView, RequiresScope
from patients.models import ContactRoute, Sex
from referrals.api import flatten_errors
from referrals.services import PARTNER_SOURCES, referral_create

from . import services
from .api_common import (
    ETAG_HEADER,
    IF_MATCH_OPTIONAL,
    IF_MATCH_REQUIRED,
    LIST_PARAMETERS,
    PreconditionFailed,
    expected_version,
    keyset_page,
    list_query,
    with_etag,
)
from .models import NeedKind, OnwardOutcome, OnwardReferral, OnwardStatus
from .selectors import onward_referrals_for_partner, partner_view

READ, WRITE, SUBMIT = "referrals:read", "referrals:write", "referrals:submit"
TAGS = ["partner"]


def _problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(ProblemSerializer, description=description)


NOT_FOUND = _problem(
    "No such referral for your organisation (another partner's, or without the patient's live consent)."
)
CHANGE_RESPONSES = {
    400: _problem("Invalid input or a status change the referral does not allow; `errors` names the field."),
    **PARTNER_ERROR_RESPONSES,
    404: NOT_FOUND,
    412: _problem("Your If-Match is not the referral's current ETag: read it again, then retry."),
    428: _problem("If-Match is missing: send the ETag you last read."),
    **IDEMPOTENCY_RESPONSES,
}

REFERRAL_EXAMPLE = {
    "reference": "OR-7F3K2Q",
    "status": "appointment_booked",
    "patient": {"first_name": "Sam", "family_name_initial": "T"},
    "contact_route": "phone",
    "contact_detail": "07700 900123",
    "need_kind": "housing",
    "need": "Needs a tenancy: sofa-surfing since September.",
    "clinic": "Middlesbrough HAT Clinic",
    "referred_at": "2026-11-16T10:05:00Z",
    "acknowledged_at": "2026-11-17T09:12:00Z",
    "appointment_at": "2026-11-30T10:00:00Z",
    "outcome": None,
    "closed_at": None,
    "updated_at": "2026-11-17T09:15:00Z",
    "version": 3,
}


class PartnerPatientSerializer(serializers.Serializer):
    first_name = serializers.CharField()
    family_name_initial = serializers.CharField(help_text="The first letter of the family name only.")


class PartnerReferralSerializer(serializers.Serializer):
    """An onward referral as a partner sees it: the minimum needed to help (SPEC 6)."""

    reference = serializers.CharField(help_text="Our reference, e.g. OR-7F3K2Q: quote it when you call the clinic.")
    status = serializers.ChoiceField(choices=OnwardStatus.choices)
    patient = PartnerPatientSerializer()
    contact_route = serializers.ChoiceField(
        choices=ContactRoute.choices, help_text="How the patient agreed to be contacted. Use no other way."
    )
    contact_detail = serializers.CharField(
        allow_blank=True,
        help_text="The phone, email or address for that route only; the clinic's phone for "
        "'at_clinic' and 'via_keyworker'.",
    )
    need_kind = serializers.ChoiceField(choices=NeedKind.choices)
    need = serializers.CharField()
    clinic = serializers.CharField(help_text="The referring clinic.")
    referred_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    appointment_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.ChoiceField(choices=OnwardOutcome.choices, allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField(help_text="Grows with every change; the ETag is built from it.")


class PartnerReferralPageSerializer(serializers.Serializer):
    results = PartnerReferralSerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for the next page; null on the last page."
    )


class AppointmentSerializer(serializers.Serializer):
    appointment_at = serializers.DateTimeField(
        help_text="ISO 8601 with an offset, e.g. 2026-11-30T10:00:00Z; in the future."
    )


class AttendanceSerializer(serializers.Serializer):
    attended = serializers.BooleanField(help_text="true: attended; false: did not attend.")


class CloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=OnwardOutcome.choices)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000, help_text="Seen by the clinic's staff on the referral's timeline.")


class NoteCreatedSerializer(serializers.Serializer):
    reference = serializers.CharField()
    text = serializers.CharField()
    at = serializers.DateTimeField()


def valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ValidationError(flatten_errors(serializer.errors))
    return serializer.validated_data


class PartnerReferralMixin:
    @staticmethod
    def referrals(request):
        """What this client may see: its partner's referrals from the clinic the client was issued for."""
        return onward_referrals_for_partner(request.partner, clinic=request.partner_client.clinic_id)

    def get_referral(self, request, reference: str) -> OnwardReferral:
        try:
            return self.referrals(request).get(reference=reference)
        except OnwardReferral.DoesNotExist:
            raise Http404("No such referral for your organisation.") from None

    def check_replay_access(self, request, stored_body, reference: str) -> None:
        """An Idempotency-Key replay shows the referral: only while this client may still read it (404 if not)."""
        self.get_referral(request, reference)

    def referral_response(self, referral: OnwardReferral, status_code=status.HTTP_200_OK) -> Response:
        referral = self.referrals(self.request).get(pk=referral.pk)
        return with_etag(Response(PartnerReferralSerializer(partner_view(referral)).data, status=status_code), referral)

    def change(self, request, reference: str, service, *, if_match_required: bool = True, **data) -> Response:
        referral = self.get_referral(request, reference)
        version = expected_version(request, referral, required=if_match_required)
        try:
            result = service(referral=referral, by=request.partner, expected_version=version, **data)
        except services.VersionMismatch:
            raise PreconditionFailed() from None
        except OnwardReferral.DoesNotExist:
            raise Http404("No such referral for your organisation.") from None
        return result


class PartnerReferralListView(PartnerReferralMixin, PartnerAPIView):
    permission_classes = [RequiresScope(READ)]

    @extend_schema(
        operation_id="partner_referrals_list",
        tags=TAGS,
        summary="Your onward referrals",
        description=(
            "The onward referrals addressed to your organisation, oldest change first, ordered by "
            "(updated_at, reference) so that paging is stable. To keep in sync, remember the "
            "`updated_at` of the last referral you saw and ask with `updated_since` next time. "
            "A referral disappears from here at once when the patient withdraws consent to share with you."
        ),
        parameters=LIST_PARAMETERS,
        responses={
            200: PartnerReferralPageSerializer,
            400: _problem("A filter is malformed."),
            **PARTNER_ERROR_RESPONSES,
        },
        examples=[
            OpenApiExample(
                "A page", value={"results": [REFERRAL_EXAMPLE], "next_cursor": "MjAyNi0xMS0xN1QwOToxNTowMHwxMg"}
            )
        ],
    )
    def get(self, request):
        query = list_query(request)
        rows, next_cursor = keyset_page(self.referrals(request), query)
        data = {"results": [partner_view(referral) for referral in rows], "next_cursor": next_cursor}
        return Response(PartnerReferralPageSerializer(data).data)


class PartnerReferralDetailView(PartnerReferralMixin, PartnerAPIView):
    permission_classes = [RequiresScope(READ)]

    @extend_schema(
        operation_id="partner_referrals_read",
        tags=TAGS,
        summary="One onward referral",
        description="Its `ETag` header is what you send back as `If-Match` to change it.",
        parameters=[ETAG_HEADER],
        responses={200: PartnerReferralSerializer, **PARTNER_ERROR_RESPONSES, 404: NOT_FOUND},
        examples=[OpenApiExample("A booked referral", value=REFERRAL_EXAMPLE, response_only=True)],
    )
    def get(self, request, reference: str):
        return self.referral_response(self.get_referral(request, reference))


def change_schema(operation_id: str, summary: str, description: str, request, examples, *, if_match=IF_MATCH_REQUIRED):
    return extend_schema(
        operation_id=operation_id,
        tags=TAGS,
        summary=summary,
        description=description,
        request=request,
        parameters=[if_match, IDEMPOTENCY_KEY_PARAMETER, ETAG_HEADER],
        responses={200: PartnerReferralSerializer, **CHANGE_RESPONSES},
        examples=[
            *examples,
            OpenApiExample("The referral after the change", value=REFERRAL_EXAMPLE, response_only=True),
        ],
    )


class AcknowledgeView(PartnerReferralMixin, PartnerAPIView):
    permission_classes = [RequiresScope(WRITE)]

    @change_schema(
        "partner_referrals_acknowledge",
        "Acknowledge a referral",
        "Tells the clinic you have it. Acknowledging twice changes nothing. Stops the not-acknowledged reminder.",
        None,
        [],
    )
    @idempotent
    def post(self, request, reference: str):
        referral = self.change(request, reference, services.onward_referral_acknowledge)
        return self.referral_response(referral)


class AppointmentView(PartnerReferralMixin, PartnerAPIView):
    permission_classes = [RequiresScope(WRITE)]

    @change_schema(
        "partner_referrals_book",
        "Book or change the appointment",
        "Sets the appointment (in the future; malformed or past: 400 naming `appointment_at`). "
        "You will be reminded the day before, and asked for the outcome if none is recorded a week after.",
        AppointmentSerializer,
        [OpenApiExample("Book", value={"appointment_at": "2026-11-30T10:00:00Z"}, request_only=True)],
    )
    @idempotent
    def post(self, request, reference: str):
        data = valid(AppointmentSerializer, request.data)
        referral = self.change(request, reference, services.onward_referral_book, **data)
        return self.referral_response(referral)


class AttendanceView(PartnerReferralMixin, PartnerAPIView):
    permission_classes = [RequiresScope(WRITE)]

    @change_schema(
        "partner_referrals_attendance",
        "Record attendance",
        "After the booked appointment has started: attended (true) or did not attend (false).",
        AttendanceSerializer,
        [OpenApiExample("Attended", value={"attended": True}, request_only=True)],
    )
    @idempotent
    def post(self, request, reference: str):
        data = valid(AttendanceSerializer, request.data)
        referral = self.change(request, reference, services.onward_referral_record_attendance, **data)
        return self.referral_response(referral)


class CloseView(PartnerReferralMixin, PartnerAPIView):
    permission_classes = [RequiresScope(WRITE)]

    @change_schema(
        "partner_referrals_close",
        "Close with an outcome",
        "Closes the referral; no more reminders are sent about it.",
        CloseSerializer,
        [
            OpenApiExample(
                "Need met", value={"outcome": "need_met", "notes": "Tenancy signed 28 Nov."}, request_only=True
            )
        ],
    )
    @idempotent
    def post(self, request, reference: str):
        data = valid(CloseSerializer, request.data)
        referral = self.change(request, reference, services.onward_referral_close, **data)
        return self.referral_response(referral)


class NoteView(PartnerReferralMixin, PartnerAPIView):
    permission_classes = [RequiresScope(WRITE)]

    @extend_schema(
        operation_id="partner_referrals_add_note",
        tags=TAGS,
        summary="Add a note for the clinic",
        description="A note on the referral's timeline, seen by the clinic's staff. It does not change the "
        "referral, so If-Match is optional.",
        request=NoteSerializer,
        parameters=[IF_MATCH_OPTIONAL, IDEMPOTENCY_KEY_PARAMETER],
        responses={201: NoteCreatedSerializer, **CHANGE_RESPONSES},
        examples=[
            OpenApiExample("A note", value={"text": "Left a voicemail; will try again Monday."}, request_only=True),
            OpenApiExample(
                "The note",
                value={"reference": "OR-7F3K2Q", "text": "Left a voicemail.", "at": "2026-11-17T09:15:00Z"},
                response_only=True,
            ),
        ],
    )
    @idempotent
    def post(self, request, reference: str):
        data = valid(NoteSerializer, request.data)
        event = self.change(request, reference, services.onward_referral_add_note, if_match_required=False, **data)
        body = {"reference": reference, "text": event.text, "at": event.at}
        return Response(NoteCreatedSerializer(body).data, status=status.HTTP_201_CREATED)


class IncomingReferralSerializer(serializers.Serializer):
    """A person referred to the clinic by a police or probation partner (e.g. a diversion contract)."""

    clinic = serializers.SlugField(
        required=False,
        help_text="The clinic's code (e.g. mbro); optional: it must be the clinic your API client was issued for.",
    )
    given_name = serializers.CharField(max_length=80)
    family_name = serializers.CharField(max_length=80)
    date_of_birth = serializers.DateField()
    nhs_number = serializers.CharField(required=False, allow_blank=True, max_length=14, help_text="10 digits.")
    sex = serializers.ChoiceField(choices=Sex.choices, required=False)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    contact_route = serializers.ChoiceField(choices=ContactRoute.choices, required=False)
    contact_notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    referrer_name = serializers.CharField(max_length=120, help_text="Who to call back about this referral.")
    referrer_phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    referrer_email = serializers.EmailField(required=False, allow_blank=True)
    years_dependent = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=80)
    exclusion_notes = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="Anything the clinic should know first."
    )

    def validate_nhs_number(self, value: str) -> str:
        return "".join(value.split()).replace("-", "")


class IncomingReferralReceiptSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Our number for the referral: quote it when you call the clinic.")
    clinic = serializers.CharField()
    received_on = serializers.DateField()
    status = serializers.CharField(help_text="Always 'received': the clinic's assessment is not shared.")


class IncomingReferralView(PartnerAPIView):
    permission_classes = [RequiresScope(SUBMIT)]

    def check_replay_access(self, request, stored_body) -> None:
        """The receipt names no one (our number, the clinic, a date); token and scope were checked already."""

    @extend_schema(
        operation_id="partner_incoming_referrals_create",
        tags=TAGS,
        summary="Refer a person to the clinic (police and probation)",
        description="Lands in the inbox of the clinic your API client was issued for, for a keyworker to "
        "assess. Needs the scope referrals:submit. Every well-formed referral is received (201), whoever "
        "the clinic already knows: the clinic checks for duplicates itself.",
        request=IncomingReferralSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: IncomingReferralReceiptSerializer,
            400: _problem("Invalid input; `errors` names the field."),
            **PARTNER_ERROR_RESPONSES,
            **IDEMPOTENCY_RESPONSES,
        },
        examples=[
            OpenApiExample(
                "A diversion referral",
                value={
                    "clinic": "mbro",
                    "given_name": "Sam",
                    "family_name": "Taylor",
                    "date_of_birth": "1987-04-02",
                    "phone": "07700 900123",
                    "contact_route": "phone",
                    "referrer_name": "PC Jo Bell",
                    "referrer_phone": "01642 000000",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Received",
                value={
                    "id": 42,
                    "clinic": "Middlesbrough HAT Clinic",
                    "received_on": "2026-11-21",
                    "status": "received",
                },
                response_only=True,
            ),
        ],
    )
    @idempotent
    def post(self, request):
        partner = request.partner
        data = dict(valid(IncomingReferralSerializer, request.data))
        code = data.pop("clinic", None)
        # An API client belongs to one clinic (SPEC 6): its referrals go there and nowhere else.
        clinic = request.partner_client.clinic
        if code and code != clinic.code:
            raise ValidationError(
                {"clinic": f"This API client is for the clinic {clinic.code}; use a client of the clinic you refer to."}
            )
        referral = referral_create(
            clinic=clinic,
            submitted_by_partner=partner,
            source=PARTNER_SOURCES.get(partner.kind, ""),
            received_on=timezone.localdate(timezone.now(), clinic.zone),
            referrer_organisation=partner.name,
            **data,
        )
        receipt = {"id": referral.pk, "clinic": clinic.name, "received_on": referral.received_on, "status": "received"}
        return Response(IncomingReferralReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)
