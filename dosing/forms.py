"""Forms collect and shape input for the dosing pages; the services decide (every rule is in rules.py).

The staff pickers accept any active member of staff of the clinic but only *offer* the right
ones (witnesses who may dose, prescribers): a wrong choice that reaches the server is then
refused by the rule itself (S5, S9) with its sentence, exactly as the API refuses it.
"""

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

from clinics.widgets import DateField, DateTimeField, TimeField

from . import rules
from .models import (
    AbsenceReason,
    AdverseEventKind,
    CheckOutcome,
    Drug,
    InjectionSite,
    Route,
    Sedation,
    SignOutState,
    Supply,
)
from .services.prescriptions import PRESCRIPTION_FIELDS

MG = {"max_digits": 7, "decimal_places": 2, "min_value": 0}


def staff_label(user) -> str:
    return user.get_full_name() or user.username


class MgInput(forms.NumberInput):
    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "step": "any", "min": "0", **(attrs or {})})


class AmpoulesWidget(forms.Widget):
    """One number input per register of the dose's drug, named `<field>-<register id>`.

    `registers` is set by the field (a lazy queryset): it is read only when the inputs are
    drawn, so recording a dose without a choice of ampoules costs no query.
    """

    template_name = "dosing/widgets/ampoules.html"
    registers = ()

    def value_from_datadict(self, data, files, name):
        prefix = f"{name}-"
        return {key.removeprefix(prefix): data[key] for key in data if key.startswith(prefix)}

    def value_omitted_from_data(self, data, files, name):
        return not any(key.startswith(f"{name}-") for key in data)

    def format_value(self, value):
        return value if isinstance(value, dict) else {}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        entered = self.format_value(value)
        base_id = context["widget"]["attrs"].get("id", f"id_{name}")
        context["widget"]["inputs"] = [
            {
                "name": f"{name}-{register.pk}",
                "id": f"{base_id}_{register.pk}",
                "label": f"{register.strength_label} {register.unit_plural}",
                "in_stock": register.units_balance,
                "value": entered.get(str(register.pk), ""),
                "step": "any" if register.is_oral_solution else "1",
                "inputmode": "decimal" if register.is_oral_solution else "numeric",
            }
            for register in self.registers
        ]
        return context


class AmpoulesField(forms.Field):
    """The ampoules the nurse says were drawn, as (register, count) pairs for the register services.

    Every input empty means no choice (None): the service then uses its default. Any input
    filled, 0 included, is a choice; a 0 means none of that strength (all 0: nothing drawn).
    """

    widget = AmpoulesWidget

    def __init__(self, *, registers=(), **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.registers = registers

    @property
    def registers(self):
        return self._registers

    @registers.setter
    def registers(self, registers):
        self._registers = self.widget.registers = registers

    def to_python(self, value):
        entered = {key: str(text).strip() for key, text in (value or {}).items() if str(text).strip()}
        if not entered:
            return None
        by_id = {str(register.pk): register for register in self.registers}
        chosen = []
        for key, text in entered.items():
            if key not in by_id:
                raise ValidationError("Choose from the registers listed.", code="invalid_choice")
            try:
                count = Decimal(text)
            except InvalidOperation:
                count = None
            if count is None or not count.is_finite() or count < 0 or count >= 10**7:
                raise ValidationError("Enter how many of each (0 or more), or leave them all empty.", code="invalid")
            if count:
                chosen.append((by_id[key], count))
        return chosen


class ServiceErrorsMixin:
    # Not required by the form, so that the rule itself refuses a missing value with its sentence
    # (S9, S10), but never "(optional)" to the nurse.
    always_needed = frozenset({"witness", "witness_password", "reason"})

    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's refusal on the field it names (unknown names and rule-wide refusals go to the top)."""
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


class WitnessField(forms.ModelChoiceField):
    """S9: a witness who is not staff of this clinic is refused by the rule's own sentence."""

    def __init__(self, **kwargs):
        super().__init__(
            label="Witness",
            queryset=None,
            required=False,
            error_messages={"invalid_choice": f"S9 · {rules.WITNESS_NOT_OF_THIS_CLINIC}"},
            **kwargs,
        )


def _offer(field, users, blank: str) -> None:
    """Show only `users` in the select (the field still accepts any clinic staff, see module docstring)."""
    field.widget.choices = [("", blank), *[(user.pk, staff_label(user)) for user in users]]
    field.label_from_instance = staff_label


class PreDoseCheckForm(ServiceErrorsMixin, forms.Form):
    sedation = forms.ChoiceField(label="Sedation", choices=Sedation.choices, widget=forms.RadioSelect)
    intoxication_signs = forms.BooleanField(
        label="Signs of intoxication (slurred speech, unsteady, pinned pupils)", required=False
    )
    withdrawal_signs = forms.BooleanField(label="Signs of withdrawal", required=False)
    breath_alcohol_ug = forms.DecimalField(
        label="Breath alcohol (µg/100 ml)",
        max_digits=5,
        decimal_places=1,
        min_value=0,
        help_text="Enter 0 for a clear reading.",
        widget=MgInput,
    )
    outcome = forms.ChoiceField(label="Outcome", choices=CheckOutcome.choices, widget=forms.RadioSelect)
    withhold_reason = forms.CharField(
        label="Reason for withholding", required=False, help_text="Only when the outcome is withhold."
    )
    reduced_dose_mg = forms.DecimalField(
        label="Reduced dose (mg)", required=False, help_text="Only for a reduced dose.", widget=MgInput, **MG
    )
    authorised_by = forms.ModelChoiceField(
        label="Authorised by (prescriber)",
        queryset=None,
        required=False,
        help_text="Only for a reduced dose. Leave empty if you are the prescriber, signed in as yourself.",
        error_messages={"invalid_choice": "S5 · A reduced dose needs the authorisation of a prescriber of this clinic"},
    )
    authoriser_pin = forms.CharField(
        label="Prescriber's PIN (or password)",
        strip=False,
        required=False,
        help_text="The prescriber types their own PIN on this device; naming them is not enough.",
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, staff, prescribers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["authorised_by"].queryset = staff
        _offer(self.fields["authorised_by"], prescribers, "No prescriber (not a reduced dose)")


class AdministerForm(ServiceErrorsMixin, forms.Form):
    dose_mg = forms.DecimalField(label="Dose given (mg)", widget=MgInput, **MG)
    route = forms.ChoiceField(label="Route", choices=Route.choices)
    injection_site = forms.ChoiceField(
        label="Injection site", choices=[("", "Choose where it was injected"), *InjectionSite.choices], required=False
    )
    witness = WitnessField()
    witness_password = forms.CharField(
        label="Witness PIN (or password)",
        strip=False,
        required=False,
        help_text="The witness types their own PIN (set under “Witness PIN”), or their password if they have no PIN.",
        # Never drawn back into the page (render_value=False): a refused form keeps the witness's
        # confirmation on the server instead (services.confirm_witness), not their PIN.
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "inputmode": "numeric"}, render_value=False),
    )
    # The witness confirms last, having seen the ampoules drawn.
    field_order = ["dose_mg", "route", "injection_site", "ampoules", "witness", "witness_password"]
    ampoules = AmpoulesField(
        label="Ampoules drawn",
        help_text="Leave empty to draw what the register proposes. To draw others, enter how many of each.",
    )

    def __init__(self, *args, staff, witnesses, injectable: bool, registers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["witness"].queryset = staff
        _offer(self.fields["witness"], witnesses, "Choose the witness")
        self.fields["ampoules"].registers = registers
        if injectable:
            # No default: an intravenous dose is never recorded as "not an injection" by a tap too few.
            self.always_needed = self.always_needed | {"injection_site"}
        else:
            del self.fields["injection_site"]  # an oral top-up has no injection site

    def entered(self) -> dict:
        """The values that passed the form's own checks, for `services.check_dose_entry` to check together."""
        names = ("dose_mg", "route", "injection_site", "witness")
        return {name: self.cleaned_data[name] for name in names if name in self.cleaned_data}

    def witness_already_confirmed(self, witness) -> None:
        """The witness typed their PIN for this dose on an earlier try of this form: say so, ask for nothing."""
        self.fields["witness_password"].help_text = self["witness_password"].help_text = (
            f"✓ {staff_label(witness)} has typed their PIN for this dose: no need to type it again. "
            "A different witness, dose or ampoules need a new PIN."
        )


class SignOutForm(ServiceErrorsMixin, forms.Form):
    state = forms.ChoiceField(label="How is the patient?", choices=SignOutState.choices, widget=forms.RadioSelect)
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 2}))


class AdverseEventForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(label="What happened", choices=AdverseEventKind.choices, widget=forms.RadioSelect)
    occurred_at = DateTimeField(label="When", required=False, help_text="Empty means now.")
    naloxone_dose_mg = forms.DecimalField(
        label="Naloxone dose (mg)", required=False, help_text="Only when naloxone was given.", widget=MgInput, **MG
    )
    naloxone_given_at = DateTimeField(
        label="Naloxone given at", required=False, help_text="Only when naloxone was given."
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))


class CorrectionForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(
        label="Reason for the correction", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    dose_mg = forms.DecimalField(
        label="Dose really given (mg)", help_text="0 if no dose was given.", widget=MgInput, **MG
    )
    route = forms.ChoiceField(label="Route", choices=Route.choices)
    injection_site = forms.ChoiceField(
        label="Injection site",
        choices=[("", "Choose where it was injected"), *InjectionSite.choices],
        required=False,
        help_text="Only when a dose was given.",
    )
    given_at = DateTimeField(label="Time really given")
    witness = WitnessField()
    witness_password = forms.CharField(
        label="Witness PIN (or password)",
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    field_order = ["reason", "dose_mg", "route", "injection_site", "given_at", "ampoules", "witness"]
    ampoules = AmpoulesField(
        label="Ampoules really drawn",
        help_text="Leave empty if the ampoules recorded were right (only the dose differs): the waste is put right. "
        "If other ampoules were drawn, enter how many of each; 0 everywhere if none was drawn.",
    )

    def __init__(self, *args, staff, witnesses, registers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["witness"].queryset = staff
        _offer(self.fields["witness"], witnesses, "Choose the witness")
        self.fields["ampoules"].registers = registers


class PrescriptionForm(ServiceErrorsMixin, forms.Form):
    drug = forms.ChoiceField(label="Drug", choices=Drug.choices)
    route = forms.ChoiceField(label="Route", choices=Route.choices)
    supply = forms.ChoiceField(label="Supply", choices=Supply.choices, initial=Supply.SUPERVISED)
    morning_dose_mg = forms.DecimalField(label="Morning dose (mg)", required=False, widget=MgInput, **MG)
    afternoon_dose_mg = forms.DecimalField(label="Afternoon dose (mg)", required=False, widget=MgInput, **MG)
    evening_dose_mg = forms.DecimalField(
        label="Evening dose (mg)", required=False, help_text="Only if the clinic runs 3 sessions.", widget=MgInput, **MG
    )
    daily_max_mg = forms.DecimalField(label="Daily maximum (mg)", widget=MgInput, **MG)
    starts_on = DateField(label="Starts on")
    ends_on = DateField(label="Ends on", required=False)
    is_titration = forms.BooleanField(label="Titration step (induction)", required=False)
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    SERVICE_FIELDS = PRESCRIPTION_FIELDS  # the fields a prescription version carries (one list)

    def __init__(self, *args, change: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if change:
            del self.fields["drug"]  # a change keeps the drug; another drug is a new prescription

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.SERVICE_FIELDS}


class ClearHoldForm(ServiceErrorsMixin, forms.Form):
    morning_dose_mg = forms.DecimalField(label="Restart morning dose (mg)", required=False, widget=MgInput, **MG)
    afternoon_dose_mg = forms.DecimalField(label="Restart afternoon dose (mg)", required=False, widget=MgInput, **MG)
    evening_dose_mg = forms.DecimalField(
        label="Restart evening dose (mg)", required=False, help_text="Only with 3 sessions a day.", widget=MgInput, **MG
    )
    notes = forms.CharField(label="Review notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    prescriber = forms.ModelChoiceField(
        label="Prescriber (on a nurse's device)",
        queryset=None,
        required=False,
        help_text="Leave empty if you are the prescriber, signed in as yourself.",
        error_messages={
            "invalid_choice": "S7 · Clearing the hold needs the authorisation of a prescriber of this clinic"
        },
    )
    prescriber_pin = forms.CharField(
        label="Prescriber's PIN (or password)",
        strip=False,
        required=False,
        help_text="The prescriber types their own PIN on this device.",
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    def __init__(self, *args, staff, prescribers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prescriber"].queryset = staff
        _offer(self.fields["prescriber"], prescribers, "I am the prescriber (signed in)")


class DosingSettingsForm(ServiceErrorsMixin, forms.Form):
    """Every per-clinic setting; the bounds are the rules' (so a refusal names its rule next to the field)."""

    morning_start = TimeField(label="Morning starts")
    morning_end = TimeField(label="Morning ends")
    afternoon_start = TimeField(label="Afternoon starts")
    afternoon_end = TimeField(label="Afternoon ends")
    evening_start = TimeField(label="Evening starts")
    evening_end = TimeField(label="Evening ends")
    sessions_per_day = forms.IntegerField(label="Sessions a day", help_text="1 to 3.")
    observation_minutes = forms.IntegerField(label="Observation after a dose, minutes", help_text="10 to 30.")
    minimum_interval_minutes = forms.IntegerField(
        label="Minimum time between injectable doses, minutes", help_text="60 to 720."
    )
    missed_days_threshold = forms.IntegerField(label="Missed days before a hold", help_text="1 to 14.")
    missed_days_threshold_titration = forms.IntegerField(
        label="Missed days before a hold during titration", help_text="1 to 14."
    )
    max_daily_diamorphine_mg = forms.DecimalField(
        label="Daily maximum of diamorphine, mg", help_text="1 to 1000.", widget=MgInput
    )
    max_daily_hydromorphone_mg = forms.DecimalField(
        label="Daily maximum of hydromorphone, mg", help_text="1 to 500.", widget=MgInput
    )
    breath_alcohol_limit_ug = forms.DecimalField(
        label="Breath alcohol limit, µg/100 ml", help_text="0 to 35.", widget=MgInput
    )
    max_daily_methadone_mg = forms.DecimalField(
        label="Daily maximum of oral methadone top-up, mg", help_text="1 to 150.", widget=MgInput
    )
    max_daily_morphine_sr_mg = forms.DecimalField(
        label="Daily maximum of slow-release oral morphine top-up, mg", help_text="1 to 1200.", widget=MgInput
    )


class LicenceForm(ServiceErrorsMixin, forms.Form):
    """S14: a prescriber's Home Office licence for this clinic (the rule checks the dates, naming S14)."""

    prescriber = forms.ModelChoiceField(
        label="Prescriber",
        queryset=None,
        error_messages={"invalid_choice": "S14 · Choose a prescriber of this clinic"},
    )
    number = forms.CharField(label="Licence number", max_length=40, required=False)
    valid_from = DateField(label="Valid from", required=False)
    valid_to = DateField(label="Valid to (last day)", required=False)

    def __init__(self, *args, staff, prescribers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prescriber"].queryset = staff
        _offer(self.fields["prescriber"], prescribers, "Choose the prescriber")


class AbsenceForm(ServiceErrorsMixin, forms.Form):
    """S7: a planned absence. The service decides the dates (from today on) and who may record it."""

    reason = forms.ChoiceField(label="Reason", choices=AbsenceReason.choices, widget=forms.RadioSelect)
    starts_on = DateField(label="First day away")
    ends_on = DateField(label="Last day away")
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))
