from django import forms

from clinics.parsing import AsciiFormIntegerField
from clinics.widgets import DateField
from partners.models import PartnerOrganisation

from ..models import DIVERSION_PARTNER_KINDS, EngagementCondition


def diversion_partners_of(clinic):
    return PartnerOrganisation.objects.filter(clinics=clinic, is_active=True, kind__in=DIVERSION_PARTNER_KINDS)


class DiversionContractForm(forms.Form):
    partner = forms.ModelChoiceField(
        queryset=PartnerOrganisation.objects.none(),
        empty_label="Choose the police or probation partner",
        error_messages={"required": "Partner: choose the police or probation partner that runs the scheme."},
        help_text="The patient must have agreed to share with this partner (their consents).",
    )
    partner_reference = forms.CharField(
        label="The partner's reference",
        max_length=60,
        error_messages={"required": "The partner's reference: enter the scheme's reference for the contract."},
    )
    starts_on = DateField(
        label="Start date",
        error_messages={
            "required": "Start date: enter the date the contract starts.",
            "invalid": "Start date: enter a date as dd/mm/yyyy, e.g. 03/12/2026.",
        },
    )
    ends_on = DateField(
        label="End date",
        error_messages={
            "required": "End date: enter the date the contract ends.",
            "invalid": "End date: enter a date as dd/mm/yyyy, e.g. 03/12/2026.",
        },
    )
    condition = forms.ChoiceField(
        label="Engagement condition",
        choices=EngagementCondition.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Engagement condition: choose sessions a week or days a week."},
    )
    condition_count = AsciiFormIntegerField(
        label="N",
        min_value=1,
        max_value=21,
        help_text="Sessions a week (1-21), or days a week (1-7). For example 8 (of 14 sessions) or 5 (days).",
        error_messages={"required": "N: enter a whole number."},
    )

    def __init__(self, *args, clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = diversion_partners_of(clinic)


class EndContractForm(forms.Form):
    reason = forms.CharField(
        label="Why the contract ends",
        max_length=500,
        error_messages={"required": "Reason: say why the contract ends."},
        help_text="For example: completed, breached, withdrawn by the scheme.",
    )
