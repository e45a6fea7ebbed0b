"""Reads made on every dose whose SQL the ORM writes once per process, not on every call (issue 13).

Compiling a queryset with a few subqueries costs milliseconds of Python, several times what PostgreSQL
takes to run it; a dose makes a dozen such reads. As `clinics.backends` does for the signed-in user, a
`Precompiled` read is built with stand-in values, compiled once per database alias and checked (every
stand-in found among the parameters, none written into the SQL text), then run with the real values in
their places. Its SQL depends on the models only, never on the values, and the rows are read afresh on
every call: nothing but the statement's text is kept.

On a database other than PostgreSQL (the SQLite quick start) the queryset is simply built and run.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

from django.db import connection
from django.db.models import QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable

# Stand-ins no real value equals: no id is negative, no date in the records is this old.
STAND_IN_ID = -7_919_009_117
STAND_IN_OTHER_ID = -7_919_009_119
STAND_IN_TEXT = "stand-in-7919009117"
STAND_IN_MOMENT = datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=UTC)
STAND_IN_DAY = date(1901, 2, 3)
STAND_IN_OTHER_DAY = date(1901, 3, 4)


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple
    places: dict  # parameter index -> the name of the value that goes there
    columns: list[str]  # each selected column's attribute name (a field's attname, or an annotation's name)
    converters: dict  # column index -> (converters, expression), as the ORM applies them to values read
    field_count: int  # the first columns are the model's fields; annotations follow
    model: type

    def params_for(self, values: dict) -> list:
        params = list(self.params)
        for index, name in self.places.items():
            params[index] = values[name]
        return params

    def convert(self, row, using) -> list:
        values = list(row)
        for index, (converters, expression) in self.converters.items():
            for converter in converters:
                values[index] = converter(values[index], expression, using)
        return values


class Precompiled:
    """A read built by `build(**values)` (a queryset of one model's rows, annotations allowed, no select_related;
    or a values_list() of tuples), compiled once with the stand-ins given as keyword arguments."""

    def __init__(self, build: Callable[..., QuerySet], **stand_ins):
        self.build = build
        self.stand_ins = stand_ins
        self._statement = lru_cache(maxsize=4)(self._compile)

    def _compile(self, alias: str) -> _Statement:
        queryset = self.build(**self.stand_ins)
        compiler = queryset.query.get_compiler(alias)
        sql, params = compiler.as_sql()
        places = {}
        for index, param in enumerate(params):
            for name, stand_in in self.stand_ins.items():
                if type(param) is type(stand_in) and param == stand_in:
                    places[index] = name
        written = [name for name, stand_in in self.stand_ins.items() if str(stand_in) in sql]
        if set(places.values()) != set(self.stand_ins) or written:
            raise RuntimeError(
                f"{self.build.__qualname__}: a value is not a parameter of its SQL ({written or places})"
            )
        as_models = queryset._iterable_class is ModelIterable
        if not (as_models or queryset._iterable_class is ValuesListIterable) or (
            compiler.klass_info is not None and compiler.klass_info.get("related_klass_infos")
        ):
            raise RuntimeError(f"{self.build.__qualname__}: only rows of one model (or values_list) are precompiled")
        columns = [name or expression.target.attname for expression, _, name in compiler.select]
        # values_list() reads: no model fields, every column is a value
        field_count = len(compiler.klass_info["select_fields"]) if as_models else 0
        converters = compiler.get_converters([expression for expression, _, _ in compiler.select])
        return _Statement(sql, tuple(params), places, columns, converters, field_count, queryset.model)

    def all(self, **values) -> list:
        """The rows: model instances with their annotations, or tuples for a values_list() read."""
        if connection.vendor != "postgresql":
            return list(self.build(**values))
        statement = self._statement(connection.alias)
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.params_for(values))
            rows = cursor.fetchall()
        if not statement.field_count:
            return [tuple(statement.convert(row, connection)) for row in rows]
        fields, count = statement.columns[: statement.field_count], statement.field_count
        instances = []
        for row in rows:
            converted = statement.convert(row, connection)
            instance = statement.model.from_db(connection.alias, fields, converted[:count])
            for name, value in zip(statement.columns[count:], converted[count:], strict=True):
                setattr(instance, name, value)
            instances.append(instance)
        return instances

    def first(self, **values):
        rows = self.all(**values)
        return rows[0] if rows else None
