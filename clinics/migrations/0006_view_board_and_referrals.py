"""SPEC 2: grant the new read capabilities (the dosing board, the referral lists) to the roles that see them.

The mapping is frozen here, as in 0002_roles, so this migration means the same thing forever.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "view_dosing_board": ["nurse", "prescriber", "clinic_manager"],
    "view_referrals": ["keyworker", "clinic_manager"],
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("clinics")
    if not getattr(app_config, "models_module", None):
        app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for codename, roles in GRANTS.items():
        permission = Permission.objects.get(content_type__app_label="clinics", codename=codename)
        for group in Group.objects.filter(name__in=roles):
            group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="clinics", codename__in=list(GRANTS)).delete()


class Migration(migrations.Migration):
    dependencies = [("clinics", "0005_clinic_bank_holidays")]

    operations = [
        migrations.AlterModelOptions(
            name="clinic",
            options={
                "ordering": ["name"],
                "permissions": [
                    ("view_patient_records", "See patient records of their clinics"),
                    ("record_doses", "Run the dosing board: checks, doses, witnessing, observations"),
                    ("prescribe", "Create, change and stop prescriptions; clear holds; approve titration"),
                    ("handle_referrals", "Take referrals in, register patients, consents, TOP, onward referrals"),
                    ("sign_off_referrals", "Accept or decline an assessed referral"),
                    ("manage_clinic", "Clinic settings, staff, stock receipts, partners, access log"),
                    ("view_statistics", "Aggregate statistics, never identifiers"),
                    ("view_dosing_board", "See the dosing board of their clinics"),
                    ("view_referrals", "See the referral lists of their clinics"),
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
