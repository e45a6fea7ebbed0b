"""The clinic manager's unit costs form (the cost view's only input). Validation of meaning is in the service."""

from django import forms

from .models import ClinicCosts, OffenceType

SOURCE_HINT = "Where the figure comes from, e.g. Home Office, The economic and social costs of crime (2018), table 5."


class UnitCostsForm(forms.Form):
    cost_per_patient_day = forms.DecimalField(
        label="Cost of one patient-day of treatment (£)", min_value=0, max_digits=9, decimal_places=2
    )
    cost_source = forms.CharField(label="Source of the treatment cost", max_length=300, help_text=SOURCE_HINT)

    def __init__(self, *args, costs: ClinicCosts | None = None, **kwargs):
        initial = {}
        if costs is not None:
            initial = {"cost_per_patient_day": costs.cost_per_patient_day, "cost_source": costs.cost_source}
            for unit in costs.offences.all():
                initial[f"unit_cost_{unit.offence}"] = unit.unit_cost
                initial[f"source_{unit.offence}"] = unit.source
        super().__init__(*args, initial=initial, **kwargs)
        for offence, label in OffenceType.choices:
            self.fields[f"unit_cost_{offence}"] = forms.DecimalField(
                label=f"Unit cost: {label.lower()} (£)", min_value=0, max_digits=9, decimal_places=2
            )
            self.fields[f"source_{offence}"] = forms.CharField(
                label=f"Source of the unit cost: {label.lower()}", max_length=300
            )

    def offences(self) -> dict:
        data = self.cleaned_data
        return {offence: (data[f"unit_cost_{offence}"], data[f"source_{offence}"]) for offence in OffenceType.values}
