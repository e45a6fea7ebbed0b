from django import forms
from django.core.exceptions import ValidationError

from clinics.widgets import DateTimeField

from .models import Severity


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's refusal next to the field it names (or at the top of the form)."""
    named = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for name, messages in named.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


class AlertForm(forms.Form):
    """The fields only; the service decides what is valid (substance named, expiry in the future)."""

    substance = forms.CharField(
        max_length=120,
        required=False,
        help_text="e.g. heroin with nitazenes, or fentanyl sold as heroin.",
    )
    what_seen = forms.CharField(
        label="What was seen", required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How to recognise it, e.g. blue-speckled brown powder.",
    )  # fmt: skip
    area = forms.CharField(max_length=160, required=False, help_text="Where it was seen.")
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.HIGH)
    advice = forms.CharField(
        label="Advice to give", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What staff tell patients, e.g. use with someone, carry naloxone, test a small amount first.",
    )  # fmt: skip
    valid_until = DateTimeField(label="Valid until", required=False)
