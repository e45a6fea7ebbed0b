"""S10: on PostgreSQL the database itself refuses UPDATE and DELETE on register entries and stock checks.

A mistake is put right by a correction entry pointing at the original, which a second trigger
keeps within the same register. The register's balance lives on the register row (updated
under lock), not on its entries. The triggers raise restrict_violation (SQLSTATE 23001),
which Django surfaces as IntegrityError (a DatabaseError). TRUNCATE (the test suite's flush)
does not fire row triggers. SQLite (the quick-start demo) has none; the application never
issues such updates either.
"""

from django.db import migrations

APPEND_ONLY = ["cd_register_registerentry", "cd_register_stockcheck"]

FUNCTIONS = """
CREATE OR REPLACE FUNCTION cd_register_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'S10: % rows are never updated or deleted; record a correction instead', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION cd_register_correction_same_register() RETURNS trigger AS $$
BEGIN
    IF NEW.corrects_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM cd_register_registerentry WHERE id = NEW.corrects_id AND register_id = NEW.register_id
    ) THEN
        RAISE EXCEPTION 'S10: a correction points at an entry of the same register'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTIONS, params=None)
    for table in APPEND_ONLY:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION cd_register_refuse_change()"
        )
    schema_editor.execute(
        "CREATE TRIGGER cd_register_registerentry_correction_same_register "
        "BEFORE INSERT ON cd_register_registerentry "
        "FOR EACH ROW EXECUTE FUNCTION cd_register_correction_same_register()"
    )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS cd_register_registerentry_correction_same_register ON cd_register_registerentry"
    )
    for table in APPEND_ONLY:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS cd_register_correction_same_register()")
    schema_editor.execute("DROP FUNCTION IF EXISTS cd_register_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("cd_register", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
