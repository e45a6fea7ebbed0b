"""Create the five role groups of SPEC section 2 and grant each its capabilities.

The mapping is frozen here (not imported from clinics.roles) so this migration means the
same thing forever; a later change of capabilities is a new migration.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_CAPABILITIES = {
    "nurse": ["view_patient_records", "record_doses"],
    "prescriber": ["view_patient_records", "record_doses", "prescribe", "sign_off_referrals"],
    "keyworker": ["view_patient_records", "handle_referrals"],
    "clinic_manager": ["view_patient_records", "manage_clinic", "view_statistics"],
    "commissioner": ["view_statistics"],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    app_config = apps.get_app_config("clinics")
    if not getattr(app_config, "models_module", None):  # the migration state's app has none; create_permissions wants one
        app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_CAPABILITIES.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = Permission.objects.filter(content_type__app_label="clinics", codename__in=codenames)
        if permissions.count() != len(codenames):
            raise RuntimeError(f"Missing permissions for role {role}: expected {codenames}")
        group.permissions.add(*permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_CAPABILITIES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("clinics", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
