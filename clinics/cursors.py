"""Keyset cursors for the partner feeds (onward referrals, drug alerts): opaque to the partner, ours to check.

A cursor is the last row's (updated_at, pk), base64 without padding; a cursor we did not give (bad
base64, a naive or malformed time, no id) is a ValidationError naming `cursor`, answered 400.
"""

import base64
import binascii
import datetime as dt
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone


def encode_cursor(row) -> str:
    """The cursor after `row` (anything with `updated_at` and `pk`)."""
    raw = f"{row.updated_at.isoformat()}|{row.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, pk = raw.split("|")
        parsed = datetime.fromisoformat(moment)
        if timezone.is_naive(parsed):
            raise ValueError
        return parsed.astimezone(dt.UTC), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError({"cursor": "This cursor is not one we gave; start again without it."}) from None
