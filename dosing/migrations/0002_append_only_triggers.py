"""S10: on PostgreSQL the database itself refuses UPDATE and DELETE on dose records.

Administrations, pre-dose checks, observation sign-outs and adverse events are append-only:
a mistake is corrected by a new entry pointing at the original. The trigger raises
restrict_violation (SQLSTATE 23001), which Django surfaces as IntegrityError. TRUNCATE (the
test suite's flush) does not fire row triggers. SQLite (the quick-start demo) has no trigger;
the application never issues such updates either.
"""

from django.db import migrations

TABLES = [
    "dosing_administration",
    "dosing_predosecheck",
    "dosing_observationsignout",
    "dosing_adverseevent",
]

FUNCTION = """
CREATE OR REPLACE FUNCTION dosing_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'S10: % rows are never updated or deleted; record a correction instead', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION dosing_refuse_change()"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS dosing_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("dosing", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
