"""Forms collect and shape input; the services decide. Field names match the services' so their errors land here."""

from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinics.parsing import AsciiFormIntegerField
from clinics.widgets import DateField, TimeField

from .models import CdDrug, StockForm
from .selectors import witness_by_username


class ServiceErrorsMixin:
    """Messages that name the field (the error summary lists them away from their labels)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name_field_errors()

    def name_field_errors(self) -> None:
        for field in self.fields.values():
            if not hasattr(field, "plain_error_messages"):
                field.plain_error_messages = dict(field.error_messages)
            for key in ("required", "invalid", "max_digits", "max_decimal_places", "min_value"):
                message = str(field.plain_error_messages.get(key, ""))
                if message:
                    field.error_messages[key] = f"{field.label}: {message[0].lower()}{message[1:]}"

    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's ValidationError on the fields it names (unknown names go to the top)."""
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


def _number(label: str, *, whole: bool, help_text: str = "", minimum=None) -> forms.DecimalField:
    attrs = {"inputmode": "numeric" if whole else "decimal"}
    return forms.DecimalField(
        label=label,
        max_digits=9,
        decimal_places=0 if whole else 2,
        min_value=minimum,
        help_text=help_text,
        widget=forms.NumberInput(attrs={**attrs, "step": "1" if whole else "0.01"}),
    )


class RegisterCreateForm(ServiceErrorsMixin, forms.Form):
    drug = forms.ChoiceField(label="Drug", choices=CdDrug.choices)
    strength_mg = forms.DecimalField(
        label="Strength (mg)",
        max_digits=7,
        decimal_places=2,
        help_text="Diamorphine ampoules: 5, 10, 30, 100, 250 or 500 mg. Hydromorphone: 2, 10, 20, 50, 100 or 500 mg. "
        "Methadone oral solution: 1 (mg per ml).",
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )
    form = forms.ChoiceField(label="Form", choices=StockForm.choices)


class EntryForm(ServiceErrorsMixin, forms.Form):
    """Common to every movement: when it happened today, notes, and the witness who confirms with their password."""

    occurred_at = TimeField(
        label="Time",
        required=False,
        help_text="Leave empty for now. Entries are made on the day of the movement.",
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    witness = forms.CharField(
        label="Witness's username",
        max_length=150,
        help_text="A second member of staff who saw this and confirms it now.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )
    witness_password = forms.CharField(
        label="Witness's PIN or password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Typed by the witness: their witness PIN, or their password if they have no PIN.",
    )

    field_order_tail = ("occurred_at", "notes", "witness", "witness_password")

    def __init__(self, *args, register, **kwargs):
        super().__init__(*args, **kwargs)
        self.register = register
        unit = register.unit_plural
        for name in ("quantity", "counted"):
            if name in self.fields:
                whole = not register.is_oral_solution
                self.fields[name].decimal_places = 0 if whole else 2
                self.fields[name].widget.attrs.update(
                    {"step": "1" if whole else "0.01", "inputmode": "numeric" if whole else "decimal"}
                )
                self.fields[name].label = f"{self.fields[name].label} ({unit})"
        self.name_field_errors()
        head = [name for name in self.fields if name not in self.field_order_tail]
        self.order_fields([*head, *self.field_order_tail])

    def clean_witness(self):
        witness = witness_by_username(self.register.clinic, self.cleaned_data["witness"])
        if witness is None:
            raise ValidationError("S9 · Witness: no member of staff of this clinic has that username.")
        return witness

    def occurred(self) -> datetime | None:
        """Today at the time given, in the clinic's time zone (None: now)."""
        at = self.cleaned_data.get("occurred_at")
        if at is None:
            return None
        zone = self.register.clinic.zone
        today = timezone.localtime(timezone.now(), zone).date()
        return datetime.combine(today, at, tzinfo=zone)

    def witnessing(self) -> dict:
        return {"witness": self.cleaned_data["witness"], "witness_password": self.cleaned_data["witness_password"]}


class ReceiptForm(EntryForm):
    quantity = _number("Quantity received", whole=True, help_text="Count the ampoules in the pack before you enter.")
    supplier_name = forms.CharField(label="Supplier", max_length=160)
    supplier_address = forms.CharField(label="Supplier's address", widget=forms.Textarea(attrs={"rows": 3}))
    batch = forms.CharField(label="Batch number", max_length=60)
    expires_on = DateField(label="Expiry date")


class WasteForm(EntryForm):
    waste_mg = forms.DecimalField(
        label="Amount wasted (mg)",
        max_digits=7,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
        help_text="The unused part of an opened ampoule, in mg.",
    )
    whole_units = AsciiFormIntegerField(
        label="Whole ampoules broken or spoiled",
        min_value=0,
        initial=0,
        required=False,
        help_text="0 for the rest of an opened ampoule; otherwise the number of ampoules that leave the stock.",
    )
    reason = forms.CharField(label="What happened", required=False, max_length=500)


class DestructionForm(EntryForm):
    quantity = _number("Quantity destroyed", whole=True)
    authorised_witness_name = forms.CharField(
        label="Authorised witness's name", max_length=160, help_text="The person authorised to witness destruction."
    )
    reason = forms.CharField(label="Reason", required=False, max_length=500, help_text="For example: out of date.")


class ReturnForm(EntryForm):
    quantity = _number("Quantity returned", whole=True)
    reason = forms.CharField(label="Reason", required=False, max_length=500)


class CorrectionForm(EntryForm):
    corrects = AsciiFormIntegerField(
        label="Entry number corrected", min_value=1, help_text="The number in the first column of the register."
    )
    quantity = forms.DecimalField(
        label="Change to the balance",
        max_digits=9,
        decimal_places=2,
        help_text="For example -2 if 2 too many were entered as received, +1 if 1 too many were entered as drawn; "
        "0 if only a detail was wrong (say what in the notes).",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    reason = forms.CharField(label="What was wrong", widget=forms.Textarea(attrs={"rows": 2}))

    field_order_tail = ("notes", "witness", "witness_password")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["occurred_at"]  # a correction is dated when it is made

    def clean_corrects(self):
        number = self.cleaned_data["corrects"]
        entry = self.register.entries.filter(sequence=number).first()
        if entry is None:
            raise ValidationError(f"Entry corrected: this register has no entry {number}.")
        return entry


class StockCheckForm(EntryForm):
    counted = _number("Count in the cupboard", whole=True, help_text="Count before you look at the balance.")

    field_order_tail = ("notes", "witness", "witness_password")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["occurred_at"]


class CloseDiscrepancyForm(ServiceErrorsMixin, forms.Form):
    investigation_note = forms.CharField(
        label="Investigation note",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What was found, what was done (for example a correction entry), who was told.",
    )


class PeriodForm(forms.Form):
    since = DateField(label="From", required=False)
    until = DateField(label="To", required=False)
