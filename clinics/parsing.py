"""Whole numbers from requests, parsed in one place: ASCII digits only (issue 11, hole 7).

`str.isdigit()` says yes to '²', which `int()` then refuses (a 500 where the code trusted the
check), and `int()` says yes to '٣' and every other script's digits, as do Django's and DRF's
IntegerFields. Ids, counts, scores and NHS numbers typed into this service are ASCII digits;
anything else is refused with a message naming the parameter or field, never read as a number.

- `is_ascii_digits(value)`: for digit strings that stay strings (NHS numbers).
- `parse_int(value, name=...)`: a query or form parameter; raises `BadParameter`, a Django
  ValidationError naming the parameter: the API's problem handler answers 400, and
  `BadParameterMiddleware` answers a page's request with a 400 page saying the same.
- `AsciiIntegerField` (DRF) and `AsciiFormIntegerField` (Django forms) for declared fields.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import render
from rest_framework import serializers

# PostgreSQL's bigint, the type of every id: a larger number can name no row.
ID_MAX = 2**63 - 1
_ASCII_INTEGER = re.compile(r"-?[0-9]+")
_TOO_LONG = 100  # characters: far beyond any id; refuse before int() works on a huge string


class BadParameter(ValidationError):
    """A request parameter that is not what it should be; `.name` is the parameter."""

    def __init__(self, name: str, message: str):
        super().__init__({name: [message]})
        self.name = name
        self.reason = message


def is_ascii_digits(value) -> bool:
    """True for a non-empty string of the digits 0-9 only (not '²', not '٣')."""
    return isinstance(value, str) and value.isascii() and value.isdigit()


def as_ascii_int(value) -> int | None:
    """The integer written in ASCII digits (an optional leading minus), or None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) > _TOO_LONG or not _ASCII_INTEGER.fullmatch(text):
        return None
    return int(text)


def parse_int(value, *, name: str, minimum: int | None = 1, maximum: int | None = ID_MAX) -> int:
    """`value` as an integer within [minimum, maximum], or BadParameter naming `name`."""
    number = as_ascii_int(value)
    if number is None:
        raise BadParameter(name, f"{name}: enter a whole number written with the digits 0-9.")
    if minimum is not None and number < minimum:
        raise BadParameter(name, f"{name}: must be at least {minimum}.")
    if maximum is not None and number > maximum:
        raise BadParameter(name, f"{name}: must be at most {maximum}.")
    return number


def query_int(params, name: str, *, default=None, minimum: int | None = 1, maximum: int | None = ID_MAX):
    """An optional integer query parameter: `default` when absent or empty, else `parse_int`."""
    value = params.get(name)
    if value in (None, ""):
        return default
    return parse_int(value, name=name, minimum=minimum, maximum=maximum)


class AsciiIntegerField(serializers.IntegerField):
    """DRF IntegerField that takes JSON numbers and strings of ASCII digits only."""

    def to_internal_value(self, data):
        if isinstance(data, float) and data.is_integer():
            data = int(data)
        number = as_ascii_int(data)
        if number is None:
            self.fail("invalid")
        return super().to_internal_value(number)


class AsciiFormIntegerField(forms.IntegerField):
    """Django forms IntegerField that takes ASCII digits only (Django's own takes any script's digits)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if as_ascii_int(str(value)) is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class BadParameterMiddleware:
    """A page whose query or form parameter is not a number it can use answers 400 saying which."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, BadParameter):
            return render(request, "400_parameter.html", {"reason": exception.reason}, status=400)
        return None
