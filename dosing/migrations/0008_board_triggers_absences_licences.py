"""The board shows who is away (planned absences) and whose prescriber's licence needs review (S14):
changes to those tables bump the clinic's board version too (see 0003_board_version)."""

from importlib import import_module

from django.db import migrations

board = import_module("dosing.migrations.0003_board_version")

TABLES = {
    "dosing_plannedabsence": (
        "patient_id",
        "SELECT p.clinic_id FROM {rows} r JOIN patients_patient p ON p.id = r.patient_id",
        "(SELECT clinic_id FROM patients_patient WHERE id = {})",
    ),
    "dosing_prescriberlicence": ("clinic_id", "SELECT r.clinic_id FROM {rows} r", "{}"),
}


def forwards(apps, schema_editor):
    board.create_board_triggers(schema_editor, TABLES)


def backwards(apps, schema_editor):
    board.drop_board_triggers(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("dosing", "0007_merge_board_absences_licences")]

    operations = [migrations.RunPython(forwards, backwards)]
