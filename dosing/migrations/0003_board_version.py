"""The dosing board's version: the database bumps it with every change of what a board shows.

The board is polled every 3 s by every open tablet; an unchanged board answers 304 after
reading one row of `dosing_boardversion` (dosing/board_version.py). That is only safe if no
change can forget the bump, so it is done by triggers, not by the services: every INSERT,
UPDATE and DELETE on the tables below (slots, pre-dose checks, administrations and their
corrections, observation sign-outs, adverse events, holds, alerts, prescriptions, patients,
the clinic's dosing settings and the clinic itself) touches the board of the clinic(s) of the
rows it changed, whichever code path issued it (services, jobs, admin, bulk updates, raw SQL).

PostgreSQL: statement-level AFTER triggers with transition tables (one call per statement,
so a COPY of millions of rows costs one set query, not a call per row) note the clinics in a
transaction-local setting and, the first time in a transaction, insert a `dosing_boardtouch`
row whose DEFERRABLE INITIALLY DEFERRED constraint trigger runs at commit: it gives each noted
clinic a fresh value of `dosing_board_version_seq` and deletes the touch row. So the clinic's
version row is locked only while the transaction commits (not for the length of a dose, which
would serialise a clinic's nurses), and the new version becomes visible atomically with the
change. A value is never reused: equal version, equal board.

SQLite (the quick-start demo): row-level triggers bump the version at once (SQLite serialises
writers anyway) to max(version) + 1; they are made after `migrate` (dosing/sqlite_board_triggers.py).

A new table whose rows the board shows needs its triggers too: add it to BOARD_TABLES in a
new migration calling `create_board_triggers(schema_editor, {table: how})`.
"""

from django.db import migrations, models

# table -> (key column of the changed row, SQL giving its clinic from rows `r` of that table (PostgreSQL),
#           scalar SQL giving its clinic from the key value {} (SQLite))
BOARD_TABLES = {
    "dosing_slot": ("clinic_id", "SELECT r.clinic_id FROM {rows} r", "{}"),
    "dosing_alert": ("clinic_id", "SELECT r.clinic_id FROM {rows} r", "{}"),
    "dosing_dosingsettings": ("clinic_id", "SELECT r.clinic_id FROM {rows} r", "{}"),
    "patients_patient": ("clinic_id", "SELECT r.clinic_id FROM {rows} r", "{}"),
    "clinics_clinic": ("id", "SELECT r.id FROM {rows} r", "{}"),
    "dosing_predosecheck": (
        "slot_id",
        "SELECT s.clinic_id FROM {rows} r JOIN dosing_slot s ON s.id = r.slot_id",
        "(SELECT clinic_id FROM dosing_slot WHERE id = {})",
    ),
    "dosing_administration": (
        "slot_id",
        "SELECT s.clinic_id FROM {rows} r JOIN dosing_slot s ON s.id = r.slot_id",
        "(SELECT clinic_id FROM dosing_slot WHERE id = {})",
    ),
    "dosing_observationsignout": (
        "administration_id",
        "SELECT s.clinic_id FROM {rows} r JOIN dosing_administration a ON a.id = r.administration_id "
        "JOIN dosing_slot s ON s.id = a.slot_id",
        "(SELECT s.clinic_id FROM dosing_administration a JOIN dosing_slot s ON s.id = a.slot_id WHERE a.id = {})",
    ),
    "dosing_adverseevent": (
        "administration_id",
        "SELECT s.clinic_id FROM {rows} r JOIN dosing_administration a ON a.id = r.administration_id "
        "JOIN dosing_slot s ON s.id = a.slot_id",
        "(SELECT s.clinic_id FROM dosing_administration a JOIN dosing_slot s ON s.id = a.slot_id WHERE a.id = {})",
    ),
    "dosing_hold": (
        "patient_id",
        "SELECT p.clinic_id FROM {rows} r JOIN patients_patient p ON p.id = r.patient_id",
        "(SELECT clinic_id FROM patients_patient WHERE id = {})",
    ),
    "dosing_prescription": (
        "patient_id",
        "SELECT p.clinic_id FROM {rows} r JOIN patients_patient p ON p.id = r.patient_id",
        "(SELECT clinic_id FROM patients_patient WHERE id = {})",
    ),
}

POSTGRES_FUNCTIONS = """
CREATE SEQUENCE IF NOT EXISTS dosing_board_version_seq;

-- Note these clinics' boards as changed by this transaction; queue the bump at commit once.
CREATE OR REPLACE FUNCTION dosing_board_touch(clinic_ids bigint[]) RETURNS void AS $$
DECLARE
    touched text := coalesce(current_setting('dosing.board_touched', true), '');
    added text := touched;
    clinic bigint;
BEGIN
    FOREACH clinic IN ARRAY clinic_ids LOOP
        IF clinic IS NOT NULL AND strpos(added, ',' || clinic || ',') = 0 THEN
            added := added || ',' || clinic || ',';
        END IF;
    END LOOP;
    IF added = touched THEN
        RETURN;
    END IF;
    IF touched = '' THEN
        INSERT INTO dosing_boardtouch DEFAULT VALUES;
    END IF;
    PERFORM set_config('dosing.board_touched', added, true);
END;
$$ LANGUAGE plpgsql;

-- At commit (deferred): a fresh version for every clinic noted, in clinic order (no deadlock between two
-- transactions that touched the same clinics).
CREATE OR REPLACE FUNCTION dosing_board_bump() RETURNS trigger AS $$
DECLARE
    touched text := coalesce(current_setting('dosing.board_touched', true), '');
BEGIN
    PERFORM set_config('dosing.board_touched', '', true);
    IF touched <> '' THEN
        INSERT INTO dosing_boardversion (clinic_id, version)
        SELECT clinic, nextval('dosing_board_version_seq')
        FROM (SELECT DISTINCT part::bigint AS clinic FROM unnest(string_to_array(touched, ',')) part
              WHERE part <> '') noted
        ORDER BY clinic
        ON CONFLICT (clinic_id) DO UPDATE SET version = EXCLUDED.version;
    END IF;
    DELETE FROM dosing_boardtouch WHERE id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER dosing_boardtouch_bump AFTER INSERT ON dosing_boardtouch
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION dosing_board_bump();
"""

POSTGRES_TABLE_FUNCTION = """
CREATE OR REPLACE FUNCTION {table}_board_touch() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM dosing_board_touch(ARRAY(SELECT DISTINCT clinic FROM ({new}) t(clinic)));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM dosing_board_touch(ARRAY(SELECT clinic FROM ({new}) t(clinic) UNION SELECT clinic FROM ({old}) u(clinic)));
    ELSE
        PERFORM dosing_board_touch(ARRAY(SELECT DISTINCT clinic FROM ({old}) t(clinic)));
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {table}_board_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS board_new FOR EACH STATEMENT EXECUTE FUNCTION {table}_board_touch();
CREATE TRIGGER {table}_board_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS board_old NEW TABLE AS board_new FOR EACH STATEMENT EXECUTE FUNCTION {table}_board_touch();
CREATE TRIGGER {table}_board_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS board_old FOR EACH STATEMENT EXECUTE FUNCTION {table}_board_touch();
"""

SQLITE_BUMP = (
    "INSERT INTO dosing_boardversion (clinic_id, version) "
    "SELECT clinic, (SELECT coalesce(max(version), 0) + 1 FROM dosing_boardversion) "
    "FROM (SELECT {clinic} AS clinic) WHERE clinic IS NOT NULL "
    "ON CONFLICT (clinic_id) DO UPDATE SET version = excluded.version;"
)


def create_board_triggers(schema_editor, tables: dict) -> None:
    """PostgreSQL: the triggers of these tables. SQLite: nothing here; dosing/sqlite_board_triggers.py makes them
    all after `migrate` (a trigger reading another table breaks SQLite's way of changing that table)."""
    if schema_editor.connection.vendor == "postgresql":
        for table, (_key, rows_sql, _scalar_sql) in tables.items():
            schema_editor.execute(
                POSTGRES_TABLE_FUNCTION.format(
                    table=table, new=rows_sql.format(rows="board_new"), old=rows_sql.format(rows="board_old")
                ),
                params=None,
            )


def sqlite_create_board_triggers(schema_editor, tables: dict) -> None:
    for table, (key, _rows_sql, scalar_sql) in tables.items():
        for event, rows in (("INSERT", ["NEW"]), ("UPDATE", ["NEW", "OLD"]), ("DELETE", ["OLD"])):
            body = " ".join(SQLITE_BUMP.format(clinic=scalar_sql.format(f"{row}.{key}")) for row in rows)
            schema_editor.execute(
                f"CREATE TRIGGER {table}_board_{event.lower()} AFTER {event} ON {table} FOR EACH ROW BEGIN {body} END",
                params=None,
            )


def drop_board_triggers(schema_editor, tables: dict) -> None:
    vendor = schema_editor.connection.vendor
    for table in tables:
        for event in ("insert", "update", "delete"):
            on = f" ON {table}" if vendor == "postgresql" else ""
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_board_{event}{on}", params=None)
        if vendor == "postgresql":
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_board_touch()", params=None)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTIONS, params=None)
    create_board_triggers(schema_editor, BOARD_TABLES)


def backwards(apps, schema_editor):
    drop_board_triggers(schema_editor, BOARD_TABLES)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS dosing_boardtouch_bump ON dosing_boardtouch", params=None)
        schema_editor.execute("DROP FUNCTION IF EXISTS dosing_board_bump()", params=None)
        schema_editor.execute("DROP FUNCTION IF EXISTS dosing_board_touch(bigint[])", params=None)
        schema_editor.execute("DROP SEQUENCE IF EXISTS dosing_board_version_seq", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("dosing", "0002_append_only_triggers"),
        ("patients", "0003_access_parts_dosing_prescriptions"),
        ("clinics", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="BoardVersion",
            fields=[
                ("clinic_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("version", models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="BoardTouch",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
        ),
        migrations.RunPython(forwards, backwards),
    ]
