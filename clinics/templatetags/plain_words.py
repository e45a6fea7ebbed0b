"""`{{ text|plain }}`: staff read sentences, not rule numbers ("S7 · No dose: ..." reads "No dose: ...").

The rule stays in the API (`rule`) and in the code that enforces it; a page shows only the words.
Loaded as a template builtin (settings.TEMPLATES), so every template can use it.
"""

import re

from django import template

register = template.Library()

RULE_CODE = re.compile(r"\bS\d{1,2} · ")


@register.filter
def plain(text) -> str:
    return RULE_CODE.sub("", str(text)) if text is not None else ""


@register.filter
def labelled(text: str, label) -> str:
    """An error under its field's label ("Dose: ..."), unless the sentence already names the field."""
    label = str(label or "")
    if not label or text.lower().startswith(label.lower()):
        return text
    return f"{label}: {text}"
