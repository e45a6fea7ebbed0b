"""Small formatting filters for the dosing pages (mg amounts, count-downs, times for board.js)."""

from django import template

from dosing import rules

register = template.Library()


@register.filter
def mg(amount) -> str:
    """100.00 -> "100 mg" (the same wording as the refusal sentences)."""
    return "" if amount is None else rules.mg(amount)


@register.filter
def mmss(seconds) -> str:
    """Seconds left as m:ss for the observation count-down."""
    if seconds is None:
        return ""
    minutes, seconds = divmod(max(0, int(seconds)), 60)
    return f"{minutes}:{seconds:02d}"


@register.filter
def epoch_ms(moment) -> str:
    """An aware datetime as milliseconds since the epoch: unambiguous for the board's script."""
    return "" if moment is None else str(int(moment.timestamp() * 1000))


@register.filter
def initials(patient) -> str:
    return f"{patient.given_name[:1]}{patient.family_name[:1]}".upper()
