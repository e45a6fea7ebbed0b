"""Dates as dd/mm/yyyy and times as 24-hour, whatever the browser's locale (issue 14.9). One place.

A native `<input type="date">` or `type="time"` is drawn by the browser in *its* locale: Chromium
set to en-US shows mm/dd/yyyy and a 12-hour clock with AM/PM, so "03/12" on one tablet is the
3rd of December and on another the 12th of March. A clinic cannot afford that ambiguity, so
dates and times are typed into plain text inputs with the format shown beside them, and parsed
on the server:

- a date as dd/mm/yyyy (also d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy), or ISO yyyy-mm-dd as the API
  and older bookmarks send it;
- a time as HH:MM on the 24-hour clock (HH:MM:SS accepted);
- a date and time as "dd/mm/yyyy HH:MM", or ISO (yyyy-mm-ddTHH:MM) as the API sends it.

Anything else is refused with the field's own message saying the format and giving an example,
never read as something else. Use the fields (`DateField`, `TimeField`, `DateTimeField`) in
forms; in a ModelForm name them in `Meta.field_classes`. The widgets alone are here for the
rare field that needs its own parsing.
"""

from django import forms

DATE_HINT = "dd/mm/yyyy"
TIME_HINT = "hh:mm, 24-hour"
DATETIME_HINT = "dd/mm/yyyy hh:mm, 24-hour"

DATE_INPUT_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"]
TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S"]
DATETIME_INPUT_FORMATS = [
    *(f"{day} {clock}" for day in ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y") for clock in TIME_INPUT_FORMATS),
    # ISO (the API's form; Django's DateTimeField also reads it before trying these).
    *(f"%Y-%m-%d{sep}{clock}" for sep in ("T", " ") for clock in TIME_INPUT_FORMATS),
]

DATE_DISPLAY = "%d/%m/%Y"
TIME_DISPLAY = "%H:%M"
DATETIME_DISPLAY = f"{DATE_DISPLAY} {TIME_DISPLAY}"


class _FormattedTextInput:
    """A text input with its format written beside it (and read out with it: aria-describedby)."""

    template_name = "clinics/widgets/formatted_input.html"
    input_type = "text"
    hint = ""
    size = 10

    def __init__(self, attrs=None, format=None):
        base = {"autocomplete": "off", "spellcheck": "false", "size": self.size, "class": "formatted-input"}
        super().__init__({**base, **(attrs or {})}, format=format or self.display)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        hint_id = f"{widget['attrs'].get('id') or f'id_{name}'}_format"
        described = widget["attrs"].get("aria-describedby", "")
        widget["attrs"]["aria-describedby"] = f"{described} {hint_id}".strip()
        widget["format_hint"] = {"id": hint_id, "text": self.hint}
        return context


class DateInput(_FormattedTextInput, forms.DateInput):
    hint = DATE_HINT
    display = DATE_DISPLAY


class TimeInput(_FormattedTextInput, forms.TimeInput):
    hint = TIME_HINT
    display = TIME_DISPLAY
    size = 5


class DateTimeInput(_FormattedTextInput, forms.DateTimeInput):
    hint = DATETIME_HINT
    display = DATETIME_DISPLAY
    size = 16


class DateField(forms.DateField):
    widget = DateInput
    input_formats = DATE_INPUT_FORMATS
    default_error_messages = {"invalid": "Enter the date as dd/mm/yyyy, for example 03/12/2026."}


class TimeField(forms.TimeField):
    widget = TimeInput
    input_formats = TIME_INPUT_FORMATS
    default_error_messages = {"invalid": "Enter the time on the 24-hour clock as hh:mm, for example 14:05."}


class DateTimeField(forms.DateTimeField):
    widget = DateTimeInput
    input_formats = DATETIME_INPUT_FORMATS
    default_error_messages = {
        "invalid": "Enter the date and time as dd/mm/yyyy hh:mm (24-hour), for example 03/12/2026 14:05.",
        "overflow": "Enter a real date and time as dd/mm/yyyy hh:mm (24-hour), for example 03/12/2026 14:05.",
    }
