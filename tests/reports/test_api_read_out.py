"""The statistics API reads its figures out faster than DRF's generic loop (reports.api.FiguresOut), and the
same: every serializer of the answer, on every part of a real answer, gives what DRF's own
Serializer.to_representation gives for it; anything unusual takes DRF's own path."""

from datetime import date

import pytest
from rest_framework import serializers

from reports.api import FiguresOut, StatisticsSerializer
from reports.cache import report_for, report_key

pytestmark = pytest.mark.django_db


def _serializers_in(serializer) -> set[type]:
    """Every FiguresOut class the answer's tree holds, found from the fields alone (no data)."""
    found, waiting = set(), [serializer]
    while waiting:
        current = waiting.pop()
        if isinstance(current, serializers.ListSerializer):
            waiting.append(current.child)
        elif isinstance(current, FiguresOut):
            found.add(type(current))
            waiting.extend(current.fields.values())
    return found


def _parts_of(serializer, data) -> list[tuple[FiguresOut, dict]]:
    """(serializer, the part of the answer it reads) for every FiguresOut of the tree and every row."""
    parts, waiting = [], [(serializer, data)]
    while waiting:
        current, value = waiting.pop()
        if value is None:
            continue
        if isinstance(current, serializers.ListSerializer):
            waiting.extend((current.child, item) for item in value)
        elif isinstance(current, FiguresOut):
            parts.append((current, value))
            waiting.extend((field, value.get(name)) for name, field in current.fields.items())
    return parts


def test_every_part_of_a_real_answer_reads_out_as_drf_reads_it(
    dosing_history, outcome_history, referral_history, clinic, other_clinic
):
    clinics = [clinic, other_clinic]
    start, end = date(2025, 1, 1), date(2026, 6, 30)
    key = report_key(clinics=clinics, start=start, end=end, granularity="month")
    report = report_for(clinics=clinics, start=start, end=end, granularity="month", key=key)
    answer = StatisticsSerializer(report)

    parts = _parts_of(answer, report)

    # Each serializer against DRF's own loop on the same part: by induction, the whole answer is DRF's.
    for serializer, part in parts:
        drf = serializers.Serializer.to_representation(serializer, part)
        assert serializer.to_representation(part) == drf, type(serializer).__name__
    assert {type(serializer) for serializer, _ in parts} == _serializers_in(StatisticsSerializer())
    assert len(parts) > 100  # rows of every section, not only their headers
    assert answer.data["dosing"]["rows"][0]["period"]["start"] == "2025-01-01"


class Row(FiguresOut):
    count = serializers.IntegerField()
    day = serializers.DateField()
    note = serializers.CharField(required=False)
    rate = serializers.FloatField(default=0.5)


class Renamed(FiguresOut):
    count = serializers.IntegerField(source="total")


class Holder:
    count, day, note, rate = 3, date(2026, 3, 1), "x", 0.25


@pytest.mark.parametrize(
    ("serializer", "row"),
    [
        (Row(), {"count": "7", "day": date(2026, 3, 1), "note": 5, "rate": 1}),  # each field's own conversion
        (Row(), {"count": 7, "day": None, "note": None, "rate": None}),  # None stays None
        (Row(), {"count": 7, "day": date(2026, 3, 1), "rate": 1}),  # not required and absent: left out
        (Row(), {"count": 7, "day": date(2026, 3, 1), "note": "x"}),  # absent with a default: the default
        (Row(), {"count": lambda: 9, "day": date(2026, 3, 1), "note": "x", "rate": 1}),  # a callable is called
        (Row(), Holder()),  # not a dict
        (Renamed(), {"total": 4}),  # a source of its own
    ],
)
def test_unusual_rows_read_out_as_drf_reads_them(serializer, row):
    assert serializer.to_representation(row) == serializers.Serializer.to_representation(serializer, row)


def test_a_required_field_missing_is_drfs_error_not_a_wrong_answer():
    with pytest.raises(KeyError):
        Row().to_representation({"day": date(2026, 3, 1)})
