"""Forms collect and shape input; the services decide (rules live in rules.py and services.py)."""

from django import forms
from django.core.exceptions import ValidationError

from clinics.parsing import AsciiFormIntegerField
from clinics.roles import Role
from clinics.widgets import DateField

from . import rules
from .models import ConsentDecision, ConsentKind, DischargeReason, OutcomeInterview, Patient, PatientStatus
from .validators import normalise_nhs_number, validate_nhs_number


class ServiceErrorsMixin:
    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's ValidationError on the fields it names (unknown names go to the top)."""
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


class PatientSearchForm(forms.Form):
    q = forms.CharField(label="Name or NHS number", required=False, max_length=80)
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any status"), *PatientStatus.choices])


class PatientDetailsForm(ServiceErrorsMixin, forms.ModelForm):
    nhs_number = forms.CharField(
        label="NHS number",
        required=False,
        max_length=14,  # room for the spaces people type
        help_text="10 digits, spaces are fine. Leave it empty if the person has none.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    class Meta:
        model = Patient
        fields = [
            "given_name",
            "family_name",
            "preferred_name",
            "date_of_birth",
            "sex",
            "nhs_number",
            "phone",
            "email",
            "address",
            "contact_route",
            "contact_notes",
            "gp_practice",
            "clinical_alert",
            "keyworker",
        ]
        field_classes = {"date_of_birth": DateField}
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "date_of_birth": "The person must be 16 to 100 years old.",
            "contact_notes": "For example: do not leave voicemail; do not write to the home address.",
        }

    def __init__(self, *args, clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keyworker"].queryset = clinic.staff.filter(is_active=True, groups__name=Role.KEYWORKER).order_by(
            "last_name", "first_name"
        )
        self.fields["keyworker"].label_from_instance = lambda user: user.get_full_name() or user.username
        self.fields["keyworker"].empty_label = "No keyworker yet"
        self.fields["contact_notes"].widget.attrs["rows"] = 2

    def clean_nhs_number(self):
        value = normalise_nhs_number(self.cleaned_data.get("nhs_number"))
        validate_nhs_number(value)
        return value

    def _post_clean(self):
        # The model's own validation (and the rules) run in the service, with messages that name the field;
        # running them here too would show each problem twice.
        pass

    def details(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class RegisterPatientForm(PatientDetailsForm):
    started_on = DateField(label="Treatment start date", help_text="The day the first treatment episode starts.")
    confirm_duplicates = forms.BooleanField(
        label="I have checked the possible duplicates: this is a different person. Register anyway.",
        required=False,
    )


class PhotoForm(ServiceErrorsMixin, forms.Form):
    photo = forms.FileField(
        label="Photo for identification",
        help_text="A clear photo of the face, JPEG or PNG, at most 5 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )


class DischargeForm(ServiceErrorsMixin, forms.Form):
    reason = forms.ChoiceField(label="Discharge reason", choices=[("", "Choose a reason"), *DischargeReason.choices])
    ended_on = DateField(label="Discharge date", required=False, help_text="Today if empty.")
    notes = forms.CharField(
        label="Notes", widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="Required for 'Other'."
    )


class ReadmitForm(ServiceErrorsMixin, forms.Form):
    started_on = DateField(label="Start date of the new episode", required=False, help_text="Today if empty.")


class ConsentForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(label="Consent for", choices=ConsentKind.choices, widget=forms.RadioSelect)
    partner = forms.ModelChoiceField(
        label="Partner agency", queryset=None, required=False, help_text="Only for data sharing."
    )
    decision = forms.ChoiceField(label="Decision", choices=ConsentDecision.choices, widget=forms.RadioSelect)
    notes = forms.CharField(label="Notes", widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, partners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners
        self.fields["partner"].empty_label = "Not for a partner (treatment consent)"


def _top_field(name: str) -> forms.Field:
    label = rules.top_field_label(name)
    if name in rules.TOP_YES_NO_FIELDS:
        return forms.TypedChoiceField(
            label=label,
            choices=[("yes", "Yes"), ("no", "No")],
            coerce=lambda value: value == "yes",
            widget=forms.RadioSelect,
            error_messages={"required": f"{label}: answer yes or no."},
        )
    low, high = rules.top_bounds(name)
    message = rules.top_bound_message(name)
    return AsciiFormIntegerField(
        label=label,
        min_value=low,
        max_value=high,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": f"{label} is required.",
            "min_value": message,
            "max_value": message,
            "invalid": message,
        },
    )


class OutcomeInterviewForm(ServiceErrorsMixin, forms.Form):
    interviewed_on = DateField(label="Interview date")

    SECTIONS = (
        ("Substance use: days in the last 28 days", OutcomeInterview.DAY_FIELDS[:8]),
        ("Injecting", ("shared_equipment",)),
        ("Crime: days in the last 28 days", ("shoplifting_days", "selling_drugs_days", "other_theft", "assault")),
        ("Health and wellbeing: rating from 0 (poor) to 20 (good)", OutcomeInterview.RATING_FIELDS),
        (
            "Work, education and housing",
            ("paid_work_days", "education_days", "acute_housing_problem", "at_risk_of_eviction"),
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for _, names in self.SECTIONS:
            for name in names:
                self.fields[name] = _top_field(name)

    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def answers(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name != "interviewed_on"}
