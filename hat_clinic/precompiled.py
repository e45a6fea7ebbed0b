"""Reads made on every dose whose SQL the ORM writes once per process, not on every call (issue 13).

Compiling a queryset with a few subqueries costs milliseconds of Python, several times what PostgreSQL
takes to run it; a dose makes a dozen such reads. As `clinics.backends` does for the signed-in user, a
`Precompiled` read is built with stand-in values, compiled once per database alias and checked (every
stand-in found among the parameters, none written into the SQL text), then run with the real values in
their places. Its SQL depends on the models only, never on the values, and the rows are read afresh on
every call: nothing but the statement's text is kept.

On a database other than PostgreSQL (the SQLite quick start) the queryset is simply built and run.

A read over a set of ids (a commissioner's clinics) takes them as one parameter, `AnyOf(F("clinic_id"), ids)`:
`clinic_id = ANY(%s)` with an array, so its SQL is the same however many ids there are (`__in` writes one
placeholder per id). `rows()` gives a values_list() read's rows as psycopg reads them, without the ORM's
converters: for aggregates of integer, numeric and date columns, which psycopg already gives as int, Decimal
and date, the converters change nothing and cost as much as the query on a few hundred rows.

`PrecompiledUpdate` does the same for the one-row UPDATEs of every dose (a slot's status, a register's
balance): `save(update_fields=...)` with its statement written once, for models with no save() or signals.
`PrecompiledInsert` for the rows every dose adds (the administration, its register lines): `bulk_create()`,
and with `updating=` the one-row UPDATEs of the same write in the same statement (`WITH ... UPDATE`): the
administration with its slot's status, the register lines with the register's balance.
"""

from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property, lru_cache

from django.db import DatabaseError, connection, models, transaction
from django.db.models import Lookup, QuerySet, signals
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators

# Stand-ins no real value equals: no id is negative, no date in the records is this old.
STAND_IN_ID = -7_919_009_117
STAND_IN_OTHER_ID = -7_919_009_119
STAND_IN_IDS = [STAND_IN_ID]
STAND_IN_TEXT = "stand-in-7919009117"
STAND_IN_MOMENT = datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=UTC)
STAND_IN_DAY = date(1901, 2, 3)
STAND_IN_OTHER_DAY = date(1901, 3, 4)
STAND_IN_THIRD_DAY = date(1901, 4, 5)


class AnyOf(Lookup):
    """`lhs = ANY(%s)`: one of a list of values, given as one array parameter (`AnyOf(F("clinic_id"), ids)`).

    An empty list matches nothing, as `__in=[]` does (without the ORM's shortcut of not asking the database).
    """

    lookup_name = "any_of"
    prepare_rhs = False  # the list goes to the database as it is, one parameter

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)

    def get_db_prep_lookup(self, value, connection):
        return "%s", [list(value)]


def converted(row, converters: dict, using: str) -> list:
    """A row's values as the ORM gives them: `converters` maps a column index to (converters, expression),
    as the compiler's get_converters() returns them (also for clinics.backends' user statement)."""
    values = list(row)
    for index, (functions, expression) in converters.items():
        for function in functions:
            values[index] = function(values[index], expression, using)
    return values


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple
    places: dict  # parameter index -> the name of the value that goes there
    converters: dict  # column index -> (converters, expression), as the ORM applies them to values read
    model: type | None  # None: a values_list() read, rows are tuples
    fields: slice  # the columns of the model's own fields
    init_list: list[str]  # their attribute names
    populators: list  # select_related(): the ORM's own populators of the related objects
    annotations: dict  # annotation name -> column index

    def params_for(self, values: dict) -> list:
        params = list(self.params)
        for index, name in self.places.items():
            params[index] = values[name]
        return params

    def convert(self, row, using) -> list:
        return converted(row, self.converters, using)

    def instance(self, row: list, using: str):
        """A row as the ORM's ModelIterable makes it: the model, its select_related objects, its annotations."""
        instance = self.model.from_db(using, self.init_list, row[self.fields])
        for populator in self.populators:
            populator.populate(row, instance)
        for name, index in self.annotations.items():
            setattr(instance, name, row[index])
        return instance


@contextmanager
def _planned_for_its_values():
    """Statements run meanwhile are not prepared on this connection (psycopg's prepare_threshold None): each is
    planned by PostgreSQL for the values it is given, as an unprepared statement always is."""
    raw = connection.connection
    threshold = raw.prepare_threshold
    raw.prepare_threshold = None
    try:
        yield
    finally:
        raw.prepare_threshold = threshold


class Precompiled:
    """A read built by `build(**values)` (a queryset of model instances, with select_related() and annotations
    if need be, or a values_list() of tuples), compiled once with the stand-ins given as keyword arguments.

    `prepared=False`: never a prepared statement (hat_clinic.env has psycopg prepare every statement run five
    times on a connection). PostgreSQL then plans a prepared statement once for any values, and for a read over
    a range of dates that plan can be several times slower than one made for the range at hand (it cannot know
    whether the range holds a day or ten years of rows): the aggregates of the statistics (issue 15).
    """

    def __init__(self, build: Callable[..., QuerySet], *, prepared: bool = True, **stand_ins):
        self.build = build
        self.prepared = prepared
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
            raise RuntimeError(f"{self.build.__qualname__}: a value is not a parameter of its SQL: {written or places}")
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable) or queryset._known_related_objects:
            raise RuntimeError(f"{self.build.__qualname__}: only model instances or values_list() are precompiled")
        select, klass_info = compiler.select, compiler.klass_info
        converters = compiler.get_converters([expression for expression, _, _ in select])
        statement = {"sql": sql, "params": tuple(params), "places": places, "converters": converters}
        if queryset._iterable_class is ValuesListIterable:
            return _Statement(**statement, model=None, fields=slice(0), init_list=[], populators=[], annotations={})
        # As django.db.models.query.ModelIterable reads a row.
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        return _Statement(
            **statement,
            model=klass_info["model"],
            fields=slice(first, last),
            init_list=[column[0].target.attname for column in select[first:last]],
            populators=get_related_populators(klass_info, select, alias),
            annotations=dict(compiler.annotation_col_map or {}),
        )

    def all(self, **values) -> list:
        """The rows: model instances (with their related objects and annotations), or tuples for values_list()."""
        if connection.vendor != "postgresql":
            return list(self.build(**values))
        statement = self._statement(connection.alias)
        with connection.cursor() as cursor, nullcontext() if self.prepared else _planned_for_its_values():
            cursor.execute(statement.sql, statement.params_for(values))
            rows = [statement.convert(row, connection) for row in cursor.fetchall()]
        if statement.model is None:
            return [tuple(row) for row in rows]
        return [statement.instance(row, connection.alias) for row in rows]

    def first(self, **values):
        rows = self.all(**values)
        return rows[0] if rows else None

    def rows(self, **values) -> list[tuple]:
        """A values_list() read's rows as psycopg gives them: no converters (see the module's note)."""
        if connection.vendor != "postgresql":
            return list(self.build(**values))
        statement = self._statement(connection.alias)
        if statement.model is not None:
            raise RuntimeError(f"{self.build.__qualname__}: rows() reads values_list() reads only")
        with connection.cursor() as cursor, nullcontext() if self.prepared else _planned_for_its_values():
            cursor.execute(statement.sql, statement.params_for(values))
            return cursor.fetchall()


class PrecompiledUpdate:
    """`instance.save(update_fields=fields)` for a model with no save() of its own and no signal receivers, its
    UPDATE written once per database alias: on every dose the ORM wrote the statement again for one row.

    The values are prepared by each field as save() prepares them; the row must exist (else DatabaseError, as
    save(update_fields=...) says). No pre_save() runs: a field such as auto_now's cannot be one of `fields`.
    """

    def __init__(self, model: type, *fields: str):
        self.model = model
        self.fields = [model._meta.get_field(name) for name in fields]
        for field in self.fields:
            if getattr(field, "auto_now", False) or field.primary_key or not field.concrete:
                raise RuntimeError(f"{model.__name__}.{field.name}: not a column a PrecompiledUpdate may write")

    @cached_property
    def sql(self) -> str:
        quote = connection.ops.quote_name
        table, key = quote(self.model._meta.db_table), quote(self.model._meta.pk.column)
        columns = ", ".join(f"{quote(field.column)} = %s" for field in self.fields)
        return f"UPDATE {table} SET {columns} WHERE {key} = %s"  # noqa: S608 (the model's names; values are parameters)

    def params_for(self, instance) -> list:
        """The SET values prepared as save() prepares them, then the row's id."""
        return [*(field.get_db_prep_save(getattr(instance, field.attname), connection) for field in self.fields),
                instance.pk]  # fmt: skip

    def save(self, instance) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params_for(instance))
            if cursor.rowcount != 1:
                raise DatabaseError(f"{self.model.__name__} {instance.pk}: no row was updated")


class PrecompiledInsert:
    """New rows of a model with no save() of its own and an id the database makes, in one INSERT ... RETURNING
    written once per process and number of rows: on every dose the ORM wrote the INSERT of the administration
    and of its register lines again, each a few hundred calls.

    The values are prepared as bulk_create() prepares them (each field's pre_save() for an addition, then
    get_db_prep_save()), after the same check that every related object has been saved. Each object gets its id
    and is marked saved. While a pre_save or post_save receiver listens for the model, each object is saved by
    save() instead, so that none is skipped; on a database other than PostgreSQL, bulk_create() does it.
    """

    def __init__(self, model: type):
        if model.save is not models.Model.save or model._meta.pk.get_internal_type() != "BigAutoField":
            raise RuntimeError(f"{model.__name__}: only a model with Django's save() and a database-made id")
        self.model = model
        self.fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        self._sql = lru_cache(maxsize=8)(self._compile)

    def _compile(self, rows: int, updates: tuple = ()) -> str:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in self.fields)
        row = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        table, key = quote(self.model._meta.db_table), quote(self.model._meta.pk.column)
        # Each UPDATE a data-modifying WITH, run once whether read or not; its row count comes back on every row.
        # The model's names and a counter only: every value is a parameter.
        updating = ", ".join(f'"u{index}" AS ({update.sql} RETURNING 1)' for index, update in enumerate(updates))
        counts = "".join(f', (SELECT count(*) FROM "u{index}")' for index in range(len(updates)))  # noqa: S608
        with_ = f"WITH {updating} " if updates else ""
        return f"{with_}INSERT INTO {table} ({columns}) VALUES {', '.join([row] * rows)} RETURNING {key}{counts}"  # noqa: S608

    def create(self, objs: list, *, updating: list[tuple[PrecompiledUpdate, object]] = ()) -> list:
        """Insert `objs`; `updating`: (PrecompiledUpdate, instance) pairs written by the same statement (one round
        trip: a dose's administration and its slot's new status, its register lines and the register's balance).
        Each UPDATE must change its one row, else DatabaseError (and the caller's transaction ends with it)."""
        if (
            not objs
            or connection.vendor != "postgresql"
            or any(receivers.has_listeners(self.model) for receivers in (signals.pre_save, signals.post_save))
        ):
            with transaction.atomic(savepoint=False):  # one statement at a time, still all or nothing
                if objs and connection.vendor != "postgresql":
                    self.model._default_manager.bulk_create(objs)
                else:
                    for obj in objs:
                        obj.save(force_insert=True)
                for update, instance in updating:
                    update.save(instance)
            return objs
        params = [param for update, instance in updating for param in update.params_for(instance)]
        for obj in objs:
            obj._prepare_related_fields_for_save(operation_name="bulk_create")
            params += [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in self.fields]
        # No savepoint: inside the caller's transaction (every dose) a refusal ends it all; alone, its own.
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            cursor.execute(self._sql(len(objs), tuple(update for update, _ in updating)), params)
            rows = cursor.fetchall()
            for index, (update, instance) in enumerate(updating):
                if rows[0][1 + index] != 1:
                    raise DatabaseError(f"{update.model.__name__} {instance.pk}: no row was updated")
        ids = [row[0] for row in rows]
        for obj, pk in zip(objs, ids, strict=True):
            obj.pk = pk
            obj._state.adding, obj._state.db = False, connection.alias
        return objs
