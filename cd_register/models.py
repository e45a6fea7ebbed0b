"""The controlled-drug register (SPEC 5; Misuse of Drugs Regulations 2001 reg. 20; S9, S10).

One `Register` per clinic, drug, strength and form. Its balance and the number of its last
entry live on the register row, which every writer locks (`select_for_update`) before it
appends: that row is the per-register lock that keeps running balances exact and entry
numbers gap-free under concurrent doses.

`RegisterEntry` rows are append-only (S10): on PostgreSQL a trigger refuses UPDATE and DELETE
(migration 0002). A mistake is put right by a correction entry that points at the original.
Administration entries carry the dosing record's id as a plain integer (`administration_ref`),
not a foreign key, so that this app never imports dosing (dosing calls us, not the reverse).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from clinics.models import Clinic
from patients.models import Patient

QUANTITY = {"max_digits": 9, "decimal_places": 2}
MG = {"max_digits": 7, "decimal_places": 2}


class CdDrug(models.TextChoices):
    """The same values as dosing's `Drug` for these products, so a dose's drug names its register directly."""

    DIAMORPHINE = "diamorphine_inj", "Diamorphine"
    HYDROMORPHONE = "hydromorphone_inj", "Hydromorphone"
    METHADONE_ORAL = "methadone_oral", "Methadone oral solution"


class StockForm(models.TextChoices):
    AMPOULE = "ampoule", "Ampoule"
    VIAL = "vial", "Vial"
    ORAL_SOLUTION = "oral_solution_ml", "Oral solution (per ml)"


class EntryKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    ADMINISTRATION = "administration", "Administration"
    WASTE = "waste", "Waste"
    DESTRUCTION = "destruction", "Destruction"
    RETURN = "return_to_pharmacy", "Return to pharmacy"
    CORRECTION = "correction", "Correction"


class Register(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="cd_registers")
    drug = models.CharField(max_length=20, choices=CdDrug.choices)
    strength_mg = models.DecimalField(**MG, help_text="mg per ampoule or vial; mg per ml for an oral solution.")
    form = models.CharField(max_length=20, choices=StockForm.choices)
    balance = models.DecimalField(**QUANTITY, default=Decimal(0), help_text="Ampoules, vials or ml in stock now.")
    last_sequence = models.PositiveIntegerField(default=0, help_text="Number of the latest entry.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["drug", "form", "strength_mg"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "drug", "strength_mg", "form"],
                name="one_register_per_clinic_drug_strength_form",
                violation_error_message="This clinic already has a register for this drug, strength and form.",
            ),
            models.CheckConstraint(
                condition=Q(balance__gte=0),
                name="register_balance_never_negative",
                violation_error_message="A register balance is never below zero.",
            ),
            models.CheckConstraint(
                condition=Q(strength_mg__gt=0),
                name="register_strength_positive",
                violation_error_message="The strength is more than 0 mg.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_drug_display()} {self.strength_label} {self.unit_plural}"

    @property
    def is_oral_solution(self) -> bool:
        return self.form == StockForm.ORAL_SOLUTION

    @property
    def strength_label(self) -> str:
        amount = f"{self.strength_mg.normalize():f}"
        return f"{amount} mg/ml" if self.is_oral_solution else f"{amount} mg"

    @property
    def unit(self) -> str:
        return {StockForm.AMPOULE: "ampoule", StockForm.VIAL: "vial"}.get(self.form, "ml")

    @property
    def unit_plural(self) -> str:
        return "ml" if self.is_oral_solution else f"{self.unit}s"

    @property
    def units_balance(self) -> str:
        return self.units(self.balance)

    def units(self, quantity) -> str:
        """'1 ampoule', '3 ampoules', '12.5 ml'."""
        amount = f"{Decimal(quantity).normalize():f}"
        if self.is_oral_solution:
            return f"{amount} ml"
        return f"{amount} {self.unit if abs(Decimal(quantity)) == 1 else self.unit_plural}"


class RegisterEntry(models.Model):
    """One line of the register. Never updated or deleted (S10; a trigger refuses it on PostgreSQL)."""

    # No index of its own: register_entry_sequence_unique (register, sequence) serves every read by register, and
    # each dose's lines would take an entry in a third index for nothing (issue 13).
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="entries", db_index=False)
    sequence = models.PositiveIntegerField(help_text="Entry number within the register: 1, 2, 3 ... without gaps.")
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    quantity = models.DecimalField(
        **QUANTITY,
        help_text="Ampoules, vials or ml: + into stock, - out of stock, 0 for the part of an ampoule wasted.",
    )
    waste_mg = models.DecimalField(
        **MG,
        default=Decimal(0),
        help_text="mg wasted (waste entries); on a correction of a waste entry, the mg not wasted after all.",
    )
    balance_after = models.DecimalField(**QUANTITY)
    occurred_at = models.DateTimeField()
    entered_at = models.DateTimeField()
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    witnessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Receipts (reg. 20: name and address of the supplier).
    supplier_name = models.CharField(max_length=160, blank=True)
    supplier_address = models.TextField(blank=True)
    batch = models.CharField(max_length=60, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    # Destruction: the person authorised to witness it (e.g. the CD accountable officer's delegate).
    authorised_witness_name = models.CharField(max_length=160, blank=True)
    # Administration (and the waste that follows it).
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    administration_ref = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Id of the dosing administration record (not a foreign key by design)."
    )
    corrects = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections")
    reason = models.TextField(blank=True, help_text="Why: required for corrections.")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["register", "sequence"]
        verbose_name_plural = "register entries"
        constraints = [
            models.UniqueConstraint(
                fields=["register", "sequence"],
                name="register_entry_sequence_unique",
                violation_error_message="This entry number is already taken in the register.",
            ),
            models.CheckConstraint(
                condition=Q(sequence__gte=1),
                name="register_entry_sequence_from_one",
                violation_error_message="Entry numbers start at 1.",
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0),
                name="register_entry_balance_never_negative",
                violation_error_message="A running balance is never below zero.",
            ),
            # S9: two people for every movement.
            models.CheckConstraint(
                condition=~Q(witnessed_by=F("made_by")),
                name="register_entry_witness_is_another_person",
                violation_error_message="The witness must be another member of staff.",
            ),
            # What each kind of entry must carry (reg. 20 and SPEC 5).
            models.CheckConstraint(
                condition=(
                    Q(kind=EntryKind.RECEIPT, quantity__gt=0) & ~Q(supplier_name="") & ~Q(batch="")
                    | Q(kind=EntryKind.ADMINISTRATION, quantity__lt=0, patient__isnull=False)
                    | Q(kind=EntryKind.WASTE, quantity__lte=0, waste_mg__gt=0)
                    | Q(kind=EntryKind.DESTRUCTION, quantity__lt=0) & ~Q(authorised_witness_name="")
                    | Q(kind=EntryKind.RETURN, quantity__lt=0)
                    | Q(kind=EntryKind.CORRECTION, corrects__isnull=False) & ~Q(reason="")
                ),
                name="register_entry_kind_fields",
                violation_error_message="This entry lacks what its kind requires.",
            ),
            models.CheckConstraint(
                condition=Q(kind=EntryKind.CORRECTION) | Q(corrects__isnull=True),
                name="register_entry_only_corrections_point_back",
                violation_error_message="Only a correction points at another entry.",
            ),
        ]
        indexes = [
            # The administration's register lines, for dosing's record page and corrections.
            models.Index(fields=["administration_ref"], name="register_entry_admin_ref"),
            # The register page and CSV export: one register, a date range.
            models.Index(fields=["register", "occurred_at"], name="register_entry_by_date"),
        ]

    def __str__(self) -> str:
        return f"Entry {self.sequence} of register {self.register_id}"


class StockCheck(models.Model):
    """A count of the cupboard against the register's balance at that moment. Never updated or deleted."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="stock_checks")
    counted = models.DecimalField(**QUANTITY)
    computed_balance = models.DecimalField(**QUANTITY)
    difference = models.DecimalField(**QUANTITY, help_text="Counted minus computed: negative means stock is missing.")
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    witnessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField()
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-checked_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(difference=F("counted") - F("computed_balance")),
                name="stock_check_difference_is_counted_minus_computed",
                violation_error_message="The difference is the count minus the computed balance.",
            ),
            models.CheckConstraint(
                condition=Q(counted__gte=0),
                name="stock_check_count_not_negative",
                violation_error_message="A count is 0 or more.",
            ),
            models.CheckConstraint(
                condition=~Q(witnessed_by=F("checked_by")),
                name="stock_check_witness_is_another_person",
                violation_error_message="The witness must be another member of staff.",
            ),
        ]

    def __str__(self) -> str:
        return f"Stock check {self.pk} of register {self.register_id}"


class DiscrepancyStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Discrepancy(models.Model):
    """A stock check whose count differed from the balance: the clinic manager investigates and closes it.

    Closed discrepancies stay listed (SPEC 5: 'it stays visible').
    """

    stock_check = models.OneToOneField(StockCheck, on_delete=models.PROTECT, related_name="discrepancy")
    status = models.CharField(max_length=10, choices=DiscrepancyStatus.choices, default=DiscrepancyStatus.OPEN)
    investigation_note = models.TextField(blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-stock_check__checked_at", "-pk"]
        verbose_name_plural = "discrepancies"
        constraints = [
            models.CheckConstraint(
                condition=Q(status=DiscrepancyStatus.OPEN, closed_by__isnull=True, closed_at__isnull=True)
                | Q(status=DiscrepancyStatus.CLOSED, closed_by__isnull=False, closed_at__isnull=False)
                & ~Q(investigation_note=""),
                name="discrepancy_closed_with_note_by_whom_when",
                violation_error_message="A discrepancy is closed with an investigation note, by someone, at a time.",
            ),
        ]
        indexes = [
            # The managers' list of open discrepancies.
            models.Index(fields=["status"], condition=Q(status="open"), name="discrepancy_open"),
        ]

    def __str__(self) -> str:
        return f"Discrepancy {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == DiscrepancyStatus.OPEN
