"""Formatting of presented (already suppressed) figures: '*' stays '*', None is a dash."""

from django import template

register = template.Library()

NOT_AVAILABLE = "\u2013"  # an en dash: nothing to show (no denominator, or not reached yet)


@register.filter
def figure(value):
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, int):
        return f"{value:,}"
    return value


@register.filter
def pct(value):
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    return value


@register.filter
def signed(value):
    if isinstance(value, int | float):
        return f"{value:+.1f}"
    return figure(value)


@register.filter
def get(mapping, key):
    return (mapping or {}).get(key)


@register.filter
def points(value):
    """A change of a rate (0 to 1) in percentage points."""
    if isinstance(value, int | float):
        return f"{value * 100:+.0f} pts"
    return figure(value)


@register.filter
def signed_count(value):
    if isinstance(value, int | float):
        return f"{value:+,.0f}"
    return figure(value)


@register.filter
def headline_value(item):
    """A headline figure's value: a rate as a percentage, a count as a number."""
    return pct(item["value"]) if item["kind"] == "rate" else figure(item["value"])


@register.filter
def headline_change(item):
    return points(item["change"]) if item["kind"] == "rate" else signed_count(item["change"])


@register.filter
def top_value(value, kind):
    """A TOP mean (days or score) or, for a yes/no measure, the share who said yes."""
    if kind == "flag":
        return pct(value)
    return figure(value)


@register.filter
def top_change_text(value, kind):
    if kind == "flag":
        return points(value)
    return signed(value)
