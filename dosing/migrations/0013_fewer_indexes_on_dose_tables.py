"""Issue 13.7: drop the single-column indexes a dose kept up for nothing (the models say why).

Only the indexes: Django's AlterField would also drop and re-add each foreign key, and re-adding one
checks every row of the table under a lock that stops dosing (millions of rows at a regional clinic).
"""

import django.db.models.deletion
from django.db import migrations, models

# (table, column, the index Django named when it made the foreign key)
INDEXES = [
    ("dosing_administration", "patient_id", "dosing_administration_patient_id_eac372c5"),
    ("dosing_administration", "prescription_id", "dosing_administration_prescription_id_0ff78bf5"),
    ("dosing_slot", "clinic_id", "dosing_slot_clinic_id_d9fcf119"),
    ("dosing_slot", "patient_id", "dosing_slot_patient_id_d6ffc215"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("clinics", "0009_user_last_clinic"),
        ("dosing", "0012_alert_email_through_outbox"),
        ("patients", "0006_merge_20261206_2308"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"', f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")'
                )
                for table, column, name in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="administration",
                    name="patient",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="administrations",
                        to="patients.patient",
                    ),
                ),
                migrations.AlterField(
                    model_name="administration",
                    name="prescription",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="administrations",
                        to="dosing.prescription",
                    ),
                ),
                migrations.AlterField(
                    model_name="slot",
                    name="clinic",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="slots",
                        to="clinics.clinic",
                    ),
                ),
                migrations.AlterField(
                    model_name="slot",
                    name="patient",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="slots",
                        to="patients.patient",
                    ),
                ),
            ],
        ),
    ]
