"""Forms only read and check the shape of input; the services decide (one place per rule)."""

from django import forms
from django.core.exceptions import ValidationError

from clinics.widgets import DateField

from .models import (
    INTAKE_FIELDS,
    EligibilityCriteria,
    EpisodeEnd,
    PreviousTreatmentEpisode,
    Recommendation,
    Referral,
    ReferralSource,
)


class DescribedErrorsMixin:
    """Tie each field's error and hint to its input (aria-describedby), so a screen reader reads the reason."""

    def full_clean(self):
        super().full_clean()
        self._describe_errors()

    def _describe_errors(self) -> None:
        for name in self.errors:
            if name in self.fields:
                bound = self[name]
                ids = [f"{bound.auto_id}_error"]
                if self.fields[name].help_text:
                    ids.append(f"{bound.auto_id}_helptext")
                self.fields[name].widget.attrs["aria-describedby"] = " ".join(ids)

    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's ValidationError next to the field it names (or at the top)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            field = name if name in self.fields else None
            for message in messages:
                self.add_error(field, message)
        self._describe_errors()


class NotAskedYesNo(forms.NullBooleanSelect):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", "Not asked yet"), ("false", "No"), ("true", "Yes")]


class NhsNumberField(forms.CharField):
    def to_python(self, value):
        # People read NHS numbers in groups (943 476 5919); store the 10 digits.
        return "".join((super().to_python(value) or "").split()).replace("-", "")


class ReferralForm(DescribedErrorsMixin, forms.ModelForm):
    nhs_number = NhsNumberField(
        label="NHS number", required=False, max_length=14, help_text="10 digits; leave empty if the person has none."
    )
    confirm_not_duplicate = forms.BooleanField(
        required=False, label="I have checked these records: this referral is for a different person"
    )

    class Meta:
        model = Referral
        fields = [
            "source",
            "received_on",
            *INTAKE_FIELDS,
        ]
        field_classes = {"received_on": DateField, "date_of_birth": DateField}
        widgets = {
            "contact_notes": forms.Textarea(attrs={"rows": 2}),
            "exclusion_notes": forms.Textarea(attrs={"rows": 2}),
            "pregnant": NotAskedYesNo,
            "contraindication": NotAskedYesNo,
        }
        help_texts = {
            "years_dependent": "Leave empty if not known yet.",
            "months_in_oral_treatment": "Methadone, buprenorphine or slow-release morphine now. Empty if not known.",
            "injecting_days_last_3_months": "0 to 92 days. Empty if not known.",
            "referrer_organisation": "For a GP referral, the practice.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("", "Choose who referred them"), *ReferralSource.choices]
        for name in ("phone", "referrer_phone"):
            self.fields[name].widget.input_type = "tel"
            self.fields[name].widget.attrs["autocomplete"] = "off"

    def service_fields(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["confirm_not_duplicate"] = self.cleaned_data["confirm_not_duplicate"]
        return data


class PreviousEpisodeForm(DescribedErrorsMixin, forms.ModelForm):
    class Meta:
        model = PreviousTreatmentEpisode
        fields = ["kind", "started_on", "ended_on", "why_ended", "notes"]
        field_classes = {"started_on": DateField, "ended_on": DateField}
        widgets = {"notes": forms.TextInput}
        labels = {"kind": "Treatment", "started_on": "Started", "ended_on": "Ended"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["why_ended"].choices = [("", "Choose why it ended"), *EpisodeEnd.choices]


PreviousEpisodeFormSet = forms.formset_factory(PreviousEpisodeForm, extra=3, max_num=12)


class RecommendForm(DescribedErrorsMixin, forms.Form):
    recommendation = forms.ChoiceField(
        choices=Recommendation.choices, widget=forms.RadioSelect, label="Your recommendation"
    )
    notes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Notes for the prescriber",
        help_text="Needed when you recommend declining.",
    )


class AcceptForm(DescribedErrorsMixin, forms.Form):
    started_on = DateField(label="Treatment starts on", required=False, help_text="Empty means today.")
    override_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reason to accept although a criterion is not met or not known",
        help_text="Needed when the assessment shows a criterion not met or unknown.",
    )
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Notes on the decision")


class DeclineForm(DescribedErrorsMixin, forms.Form):
    reason = forms.CharField(
        required=False,  # the service refuses an empty reason, with its own message
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reason for declining",
        help_text="Required. The referrer will be told.",
    )


class WithdrawForm(DescribedErrorsMixin, forms.Form):
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason for withdrawing",
        help_text="Required, e.g. the person no longer wants treatment here.",
    )


class EligibilityCriteriaForm(DescribedErrorsMixin, forms.ModelForm):
    class Meta:
        model = EligibilityCriteria
        fields = [
            "min_age",
            "min_years_dependence",
            "min_failed_oral_episodes",
            "min_months_in_oral_treatment",
            "min_injecting_share",
        ]
        help_texts = {
            "min_age": "Programmes use 18, 20, 25 or 35.",
            "min_years_dependence": "3 in the UK, 2 in Switzerland, 5 in NAOMI and the Netherlands.",
            "min_failed_oral_episodes": "Documented oral treatment episodes that failed or were dropped out of.",
            "min_months_in_oral_treatment": "The alternative route (RIOTT): this long in oral treatment...",
            "min_injecting_share": "...while still injecting street heroin on at least this share of days.",
        }
