"""The board-version triggers on SQLite (the quick-start demo) are made after `migrate`, not by the migrations.

On SQLite, Django changes a table by building a new one and renaming it over the old (`_remake_table`).
A board trigger of another table that reads the table being remade (`dosing_hold`'s reads
`patients_patient` for the clinic) makes that rename fail ("error in trigger ... no such table"), and
the remade table's own triggers are dropped with the old table. So on SQLite the migrations leave the
triggers alone (dosing/migrations/0003_board_version.py), every trigger is dropped before `migrate`
and made again, for every board table, after it. PostgreSQL changes tables in place: its triggers are
made by the migrations and are not touched here.
"""

from importlib import import_module

from django.db import connections


def _board_tables() -> dict:
    """Every table whose rows the board shows, with how to find their clinic (as the migrations list them)."""
    tables = {}
    for name in ("0003_board_version", "0008_board_triggers_absences_licences"):
        migration = import_module(f"dosing.migrations.{name}")
        tables.update(getattr(migration, "BOARD_TABLES", None) or migration.TABLES)
    return tables


def drop_before_migrate(sender, using, **kwargs) -> None:
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.schema_editor() as schema_editor:
        board = import_module("dosing.migrations.0003_board_version")
        board.drop_board_triggers(schema_editor, _board_tables())


def create_after_migrate(sender, using, **kwargs) -> None:
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    tables = _board_tables()
    present = set(connection.introspection.table_names())
    if not ({"dosing_boardversion", *tables} <= present):
        return  # migrated back before the board existed, or part-way: no triggers to make
    board = import_module("dosing.migrations.0003_board_version")
    with connection.schema_editor() as schema_editor:
        board.drop_board_triggers(schema_editor, tables)  # `flush` and a second `migrate` send this again
        board.sqlite_create_board_triggers(schema_editor, tables)
