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
