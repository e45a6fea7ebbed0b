"""Change histories read as sentences (issue 14.8), the same way on every staff page.

"Dr Asha Shah changed the morning dose from 200 mg to 250 mg on 03/12/2026 at 14:05."
rather than a dump of field names and values. Each history (a patient's record, a
prescription's versions, a clinic's settings) works out its own clauses ("changed the morning
dose from 200 mg to 250 mg", "registered the patient"); this module writes who, the clauses
and when into one sentence. Dates are dd/mm/yyyy and times 24-hour in the zone of the page.
"""

from datetime import date, datetime

from django.utils import timezone

ON_DATE = "%d/%m/%Y"


def person(user) -> str:
    """A member of staff by name (the username when no name is recorded); no user means a scheduled job."""
    if user is None:
        return "The system"
    return user.get_full_name() or user.username


def moment(at: datetime) -> str:
    local = timezone.localtime(at) if timezone.is_aware(at) else at
    return f"on {local:{ON_DATE}} at {local:%H:%M}"


def day(value: date) -> str:
    return f"{value:{ON_DATE}}"


def listed(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [item for item in items if item]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def the(label: str, whose: str = "the") -> str:
    """'the morning dose' from a field label ('Morning dose'), keeping initialisms ('the NHS number')."""
    text = str(label)
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return f"{whose} {text}"


def value_change(label: str, old: str, new: str, *, whose: str = "the") -> str:
    """One clause for one value: changed from/to, set (was empty) or cleared (now empty)."""
    named = the(label, whose)
    if old and new:
        return f"changed {named} from {old} to {new}"
    if new:
        return f"set {named} to {new}"
    return f"cleared {named} (was {old})" if old else ""


def sentence(*, who, clauses: list[str], at: datetime) -> str:
    """'<who> <clause>, <clause> and <clause> on dd/mm/yyyy at HH:MM.'"""
    return f"{person(who)} {listed(clauses) or 'made a change'} {moment(at)}."
