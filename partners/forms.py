"""Forms collect input for the partner pages; the services validate and decide."""

from django import forms
from django.core.exceptions import ValidationError

from .models import PartnerKind, PartnerScope


class ServiceErrorsMixin:
    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's ValidationError on the fields it names (unknown names go to the top)."""
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


class PartnerForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(
        label="Organisation name", max_length=160, error_messages={"required": "Enter the organisation's name."}
    )
    kind = forms.ChoiceField(
        label="Kind of organisation",
        choices=[("", "Choose a kind"), *PartnerKind.choices],
        error_messages={"required": "Choose the kind of organisation."},
    )
    contact_email = forms.EmailField(
        label="Contact email",
        help_text="Reminders go here, e.g. the team's shared inbox.",
        error_messages={
            "required": "Enter the contact email address.",
            "invalid": "Enter an email address such as team@example.org.",
        },
    )
    webhook_url = forms.URLField(
        label="Webhook address",
        required=False,
        assume_scheme="https",
        help_text="Where the partner's system receives signed reminders. We create the signing secret.",
        error_messages={"invalid": "Enter a web address such as https://example.org/hooks."},
    )
    clinics = forms.ModelMultipleChoiceField(
        label="Clinics that work with this partner", queryset=None, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinics"].queryset = clinics
        self.fields["clinics"].error_messages["required"] = "Choose at least one clinic that works with this partner."


class PartnerEditForm(PartnerForm):
    is_active = forms.BooleanField(
        label="Active: the partner's clients may get tokens and reminders are sent", required=False
    )


class PartnerClientForm(ServiceErrorsMixin, forms.Form):
    clinic = forms.ModelChoiceField(
        label="For which clinic",
        queryset=None,
        empty_label=None,
        widget=forms.RadioSelect,
        help_text="The client reads only this clinic's referrals.",
        error_messages={
            "required": "Choose the clinic this client is for.",
            "invalid_choice": "Choose one of your clinics that works with this partner.",
        },
    )
    label = forms.CharField(
        label="Which system uses it", max_length=100, required=False, help_text="For example: case management system."
    )
    scopes = forms.MultipleChoiceField(
        label="What it may do",
        choices=PartnerScope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one scope."},
        help_text="Submitting referrals and reading diversion attendance are for police and probation partners only.",
    )

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics
        self.only_clinic = clinics[0] if len(clinics) == 1 else None
        if self.only_clinic is not None:
            # One clinic to choose from: it is the answer, and the form does not ask.
            self.fields["clinic"].initial = self.only_clinic
            self.fields["clinic"].widget = forms.HiddenInput()
            self.fields["clinic"].required = False

    def clean_clinic(self):
        return self.cleaned_data.get("clinic") or self.only_clinic
