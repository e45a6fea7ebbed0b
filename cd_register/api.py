"""Staff API for the controlled-drug register (session authentication): thin views over the same
selectors and services as the pages.

Every query starts from `clinics_for(user)`: another clinic's register is 404 before any
capability check. The witness is named by username and confirms with their password, as on
the pages. Errors are problem details naming the field (clinics.api_errors).
"""

import io

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.access import has_capability
from clinics.models import Clinic
from clinics.parsing import query_int
from clinics.selectors import clinics_for

from . import selectors, services
from .models import CdDrug, Discrepancy, DiscrepancyStatus, Register, RegisterEntry, StockCheck, StockForm


class KeepsRegisters(permissions.BasePermission):
    message = "This needs the 'Run the dosing board' or 'Clinic settings, staff, stock receipts' permission."

    def has_permission(self, request, view):
        return any(has_capability(request.user, capability) for capability in services.RECORDERS)


def require_manager(user) -> None:
    if not has_capability(user, services.MANAGERS[0]):
        raise PermissionDenied("This needs the clinic manager's 'stock receipts' permission.")


class CsvRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, (str | bytes)) else str(data)


# --- Serializers -------------------------------------------------------------------------------------


class RegisterSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = Register
        fields = [
            "id",
            "clinic",
            "drug",
            "strength_mg",
            "form",
            "label",
            "balance",
            "last_sequence",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class RegisterCreateSerializer(serializers.Serializer):
    clinic = serializers.PrimaryKeyRelatedField(
        queryset=Clinic.objects.all(), required=False, help_text="Defaults to the clinic you are working in."
    )
    drug = serializers.ChoiceField(choices=CdDrug.choices)
    strength_mg = serializers.DecimalField(max_digits=7, decimal_places=2)
    form = serializers.ChoiceField(choices=StockForm.choices)


class EntrySerializer(serializers.ModelSerializer):
    supplier_or_patient = serializers.SerializerMethodField()

    class Meta:
        model = RegisterEntry
        fields = [
            "id",
            "register",
            "sequence",
            "kind",
            "occurred_at",
            "entered_at",
            "supplier_or_patient",
            "quantity",
            "waste_mg",
            "balance_after",
            "made_by",
            "witnessed_by",
            "supplier_name",
            "supplier_address",
            "batch",
            "expires_on",
            "authorised_witness_name",
            "patient",
            "administration_ref",
            "corrects",
            "reason",
            "notes",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_supplier_or_patient(self, entry) -> str:
        return selectors.supplier_or_patient(entry)


class WitnessedInputSerializer(serializers.Serializer):
    witness = serializers.CharField(max_length=150, help_text="Username of the second member of staff.")
    witness_password = serializers.CharField(
        write_only=True, trim_whitespace=False, help_text="The witness's own PIN (or password), typed by them."
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class TimedInputSerializer(WitnessedInputSerializer):
    occurred_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="When it happened, earlier today; defaults to now."
    )


def _text(**kwargs):
    return serializers.CharField(required=False, allow_blank=True, default="", **kwargs)


QUANTITY = {"max_digits": 9, "decimal_places": 2}


class ReceiptInputSerializer(TimedInputSerializer):
    quantity = serializers.DecimalField(**QUANTITY, help_text="Ampoules, vials or ml received (more than 0).")
    supplier_name = _text(max_length=160)
    supplier_address = _text()
    batch = _text(max_length=60)
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)


class WasteInputSerializer(TimedInputSerializer):
    waste_mg = serializers.DecimalField(max_digits=7, decimal_places=2, help_text="mg wasted (more than 0).")
    whole_units = serializers.IntegerField(
        required=False, default=0, help_text="Whole ampoules broken or spoiled; 0 for the rest of an opened one."
    )
    reason = _text(max_length=500)


class DestructionInputSerializer(TimedInputSerializer):
    quantity = serializers.DecimalField(**QUANTITY, help_text="Ampoules, vials or ml destroyed (more than 0).")
    authorised_witness_name = _text(max_length=160)
    reason = _text(max_length=500)


class ReturnInputSerializer(TimedInputSerializer):
    quantity = serializers.DecimalField(**QUANTITY, help_text="Ampoules, vials or ml returned (more than 0).")
    reason = _text(max_length=500)


class CorrectionInputSerializer(WitnessedInputSerializer):
    corrects = serializers.IntegerField(help_text="Id of the entry this corrects (in the same register).")
    quantity = serializers.DecimalField(**QUANTITY, help_text="Change to the balance: +, - or 0.")
    reason = _text()


class StockCheckSerializer(serializers.ModelSerializer):
    discrepancy = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = StockCheck
        fields = [
            "id",
            "register",
            "counted",
            "computed_balance",
            "difference",
            "checked_by",
            "witnessed_by",
            "checked_at",
            "notes",
            "discrepancy",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["discrepancy"] = getattr(getattr(instance, "discrepancy", None), "pk", None)
        return data


class StockCheckInputSerializer(WitnessedInputSerializer):
    counted = serializers.DecimalField(**QUANTITY, help_text="What is in the cupboard.")


class DiscrepancySerializer(serializers.ModelSerializer):
    stock_check = StockCheckSerializer(read_only=True)
    register = serializers.IntegerField(source="stock_check.register_id", read_only=True)

    class Meta:
        model = Discrepancy
        fields = ["id", "register", "stock_check", "status", "investigation_note", "closed_by", "closed_at"]
        read_only_fields = fields


class CloseInputSerializer(serializers.Serializer):
    investigation_note = serializers.CharField(allow_blank=True)


class PickSerializer(serializers.Serializer):
    register = serializers.IntegerField()
    label = serializers.CharField()
    count = serializers.DecimalField(**QUANTITY)


class ProposalSerializer(serializers.Serializer):
    drug = serializers.CharField()
    dose_mg = serializers.DecimalField(max_digits=7, decimal_places=2)
    possible = serializers.BooleanField(source="is_possible")
    picks = serializers.SerializerMethodField()
    total_mg = serializers.DecimalField(max_digits=9, decimal_places=2)
    waste_mg = serializers.DecimalField(max_digits=7, decimal_places=2)
    waste_register = serializers.IntegerField(source="waste_register.pk", allow_null=True, default=None)
    summary = serializers.CharField(source="describe")
    problem = serializers.CharField()

    @extend_schema_field(PickSerializer(many=True))
    def get_picks(self, proposal) -> list[dict]:
        picks = [{"register": r.pk, "label": str(r), "count": count} for r, count in proposal.picks]
        return PickSerializer(picks, many=True).data


# --- Views ---------------------------------------------------------------------------------------------


def _witness(register: Register, data: dict) -> dict:
    witness = selectors.witness_by_username(register.clinic, data.pop("witness"))
    if witness is None:
        raise ValidationError({"witness": "S9 · Witness: no member of staff of this clinic has that username."})
    return {"witness": witness, "witness_password": data.pop("witness_password")}


@extend_schema(tags=["cd register"])
class RegisterViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Controlled-drug registers of the clinics you work in: one per drug, strength and form."""

    permission_classes = [permissions.IsAuthenticated, KeepsRegisters]
    serializer_class = RegisterSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Register.objects.none()
        registers = selectors.registers_for(self.request.user)
        clinic = query_int(self.request.query_params, "clinic") if self.action == "list" else None
        if clinic is not None:
            registers = registers.filter(clinic_id=clinic)
        return registers

    @extend_schema(parameters=[OpenApiParameter("clinic", int, description="Only this clinic's registers.")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=RegisterCreateSerializer, responses={201: RegisterSerializer})
    def create(self, request, *args, **kwargs):
        require_manager(request.user)
        data = RegisterCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        clinic = values.pop("clinic", None) or request.clinic
        if clinic is None or not clinics_for(request.user).filter(pk=clinic.pk).exists():
            raise ValidationError({"clinic": "Clinic: you do not work at that clinic."})
        register = services.register_create(clinic=clinic, created_by=request.user, **values)
        return Response(RegisterSerializer(register).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses=EntrySerializer(many=True),
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATE, description="From this clinic-local date."),
            OpenApiParameter("until", OpenApiTypes.DATE, description="Up to this clinic-local date, included."),
        ],
    )
    @action(detail=True, methods=["get"])
    def entries(self, request, pk=None):
        """The register's entries in order, with the running balance after each."""
        register = self.get_object()
        since, until = self._period(request)
        page = self.paginate_queryset(selectors.entries_of(register, since=since, until=until))
        return self.get_paginated_response(EntrySerializer(page, many=True).data)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The register as CSV.")},
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATE, description="From this clinic-local date."),
            OpenApiParameter("until", OpenApiTypes.DATE, description="Up to this clinic-local date, included."),
        ],
    )
    @action(detail=True, methods=["get"], renderer_classes=[CsvRenderer])
    def export(self, request, pk=None):
        """The register in the statutory column order, as CSV (the same columns as the printed register)."""
        register = self.get_object()
        since, until = self._period(request)
        out = io.StringIO()
        selectors.write_csv(out, register, selectors.entries_of(register, since=since, until=until))
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{selectors.csv_filename(register)}"'
        response["Cache-Control"] = "private, no-store"
        return response

    def _period(self, request):
        dates = serializers.DateField(required=False)
        values = []
        for name in ("since", "until"):
            raw = request.query_params.get(name)
            try:
                values.append(dates.to_internal_value(raw) if raw else None)
            except serializers.ValidationError as error:
                raise ValidationError({name: f"{name}: {error.detail[0]}"}) from error
        return values

    def _record(self, request, serializer_class, record):
        register = self.get_object()
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        entry = record(register=register, made_by=request.user, **_witness(register, values), **values)
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReceiptInputSerializer, responses={201: EntrySerializer})
    @action(detail=True, methods=["post"])
    def receipts(self, request, pk=None):
        """Record stock received (clinic managers): supplier name and address, batch, expiry, two staff."""
        return self._record(request, ReceiptInputSerializer, services.record_receipt)

    @extend_schema(request=WasteInputSerializer, responses={201: EntrySerializer})
    @action(detail=True, methods=["post"])
    def wastes(self, request, pk=None):
        """Record witnessed waste: the unused part of an opened ampoule, or ampoules broken or spoiled."""
        return self._record(request, WasteInputSerializer, services.record_waste)

    @extend_schema(request=DestructionInputSerializer, responses={201: EntrySerializer})
    @action(detail=True, methods=["post"])
    def destructions(self, request, pk=None):
        """Record stock destroyed in front of an authorised witness (clinic managers)."""
        return self._record(request, DestructionInputSerializer, services.record_destruction)

    @extend_schema(request=ReturnInputSerializer, responses={201: EntrySerializer})
    @action(detail=True, methods=["post"])
    def returns(self, request, pk=None):
        """Record stock returned to the pharmacy (clinic managers)."""
        return self._record(request, ReturnInputSerializer, services.record_return)

    @extend_schema(request=CorrectionInputSerializer, responses={201: EntrySerializer})
    @action(detail=True, methods=["post"])
    def corrections(self, request, pk=None):
        """S10: a new entry pointing at the entry it corrects (same register), with the reason."""
        register = self.get_object()
        data = CorrectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        corrects = selectors.entries_for(request.user).filter(pk=values.pop("corrects")).first()
        if corrects is None:
            raise ValidationError({"corrects": "Entry corrected: no such entry in your clinics' registers."})
        entry = services.record_correction(
            register=register, corrects=corrects, made_by=request.user, **_witness(register, values), **values
        )
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=StockCheckSerializer(many=True))
    @extend_schema(methods=["post"], request=StockCheckInputSerializer, responses={201: StockCheckSerializer})
    @action(detail=True, methods=["get", "post"], url_path="stock-checks")
    def stock_checks(self, request, pk=None):
        """Stock checks of this register, newest first; POST a count (a difference opens a discrepancy)."""
        register = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(selectors.stock_checks_of(register))
            return self.get_paginated_response(StockCheckSerializer(page, many=True).data)
        data = StockCheckInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        check = services.run_stock_check(
            register=register, checked_by=request.user, **_witness(register, values), **values
        )
        return Response(StockCheckSerializer(check).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["cd register"])
class DiscrepancyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Stock checks whose count differed from the balance; open ones first. Closed ones stay listed."""

    permission_classes = [permissions.IsAuthenticated, KeepsRegisters]
    serializer_class = DiscrepancySerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Discrepancy.objects.none()
        wanted = self.request.query_params.get("status", "") if self.action == "list" else ""
        if wanted and wanted not in DiscrepancyStatus.values:
            raise ValidationError({"status": f"Choose one of: {', '.join(DiscrepancyStatus.values)}."})
        return selectors.discrepancies_for(self.request.user, status=wanted)

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=DiscrepancyStatus.values)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CloseInputSerializer, responses=DiscrepancySerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """The clinic manager closes an investigated discrepancy with a note."""
        discrepancy = self.get_object()
        require_manager(request.user)
        data = CloseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        discrepancy = services.close_discrepancy(discrepancy=discrepancy, closed_by=request.user, **data.validated_data)
        return Response(DiscrepancySerializer(discrepancy).data)


class ProposalView(APIView):
    """Which ampoules to draw for a dose at the clinic you work in: least waste, then fewest ampoules."""

    permission_classes = [permissions.IsAuthenticated, KeepsRegisters]

    @extend_schema(
        tags=["cd register"],
        parameters=[
            OpenApiParameter("drug", str, enum=CdDrug.values, required=True),
            OpenApiParameter("dose_mg", OpenApiTypes.DECIMAL, required=True),
            OpenApiParameter("clinic", int, description="Defaults to the clinic you are working in."),
        ],
        responses=ProposalSerializer,
    )
    def get(self, request):
        params = request.query_params
        clinic = request.clinic
        if (clinic_id := query_int(params, "clinic")) is not None:
            clinic = get_object_or_404(clinics_for(request.user), pk=clinic_id)
        if clinic is None:
            raise ValidationError({"clinic": "Clinic: you do not work at a clinic."})
        dose = serializers.DecimalField(max_digits=7, decimal_places=2)
        try:
            dose_mg = dose.to_internal_value(params.get("dose_mg", ""))
        except serializers.ValidationError as error:
            raise ValidationError({"dose_mg": f"Dose: {error.detail[0]}"}) from error
        proposal = services.propose_ampoules(clinic=clinic, drug=params.get("drug", ""), dose_mg=dose_mg)
        return Response(ProposalSerializer(proposal).data)
