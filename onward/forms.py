from django import forms
from django.core.exceptions import ValidationError

from clinics.parsing import AsciiFormIntegerField
from clinics.widgets import DateTimeField
from partners.models import PartnerOrganisation
from patients.models import ContactRoute

from .models import NeedKind, OnwardOutcome, OnwardStatus


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's refusal next to the field it names (or at the top of the form)."""
    named = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for name, messages in named.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


class OnwardReferralForm(forms.Form):
    partner = forms.ModelChoiceField(
        queryset=PartnerOrganisation.objects.none(),
        empty_label="Choose a partner",
        error_messages={"required": "Choose the partner to refer to."},
        help_text="Only partners the patient has agreed to share their details with are listed.",
    )
    need_kind = forms.ChoiceField(
        label="Kind of need",
        choices=[("", "Choose a kind of need"), *NeedKind.choices],
        error_messages={"required": "Choose the kind of need."},
    )
    need = forms.CharField(
        label="What the patient needs",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The partner sees this. Plain words; no clinical detail.",
        error_messages={"required": "Say what the patient needs from the partner."},
    )
    contact_route = forms.ChoiceField(
        label="How the partner may contact the patient",
        choices=ContactRoute.choices,
        widget=forms.RadioSelect,
        help_text="As agreed with the patient. The partner gets the detail for this route only.",
    )
    note = forms.CharField(
        label="Note for the timeline",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Staff only; the partner does not see it.",
    )

    def __init__(self, *args, partners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = PartnerOrganisation.objects.filter(pk__in=[p.pk for p in partners])


STATUS_CHOICES = [("", "Choose the new status"), *[c for c in OnwardStatus.choices if c[0] != OnwardStatus.SENT]]


class StatusForm(forms.Form):
    version = AsciiFormIntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(
        label="New status", choices=STATUS_CHOICES, error_messages={"required": "Choose the new status."}
    )
    appointment_at = DateTimeField(
        label="Appointment date and time", required=False, help_text="For “Appointment booked”."
    )
    outcome = forms.ChoiceField(
        label="Outcome",
        required=False,
        choices=[("", "Choose an outcome"), *OnwardOutcome.choices],
        help_text="For “Closed”.",
    )
    notes = forms.CharField(
        label="Notes or reason",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The outcome's notes when closing; the reason when cancelling.",
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Note",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write the note."},
    )
