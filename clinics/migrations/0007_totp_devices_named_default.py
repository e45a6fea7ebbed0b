"""django-two-factor-auth asks for the code of the device named "default": name each user's confirmed one so.

Devices enrolled by the earlier hand-written set-up were named "Authenticator app"; without this a
member of staff with a device would sign in with the password alone and then be sent round in a circle.
Unconfirmed devices of that set-up are never used again: they are removed.
"""

from django.db import migrations


def name_devices_default(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    TOTPDevice.objects.filter(confirmed=False).delete()
    seen = set()
    for device in TOTPDevice.objects.order_by("user_id", "pk"):
        if device.user_id not in seen:
            seen.add(device.user_id)
            if device.name != "default":
                device.name = "default"
                device.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [
        ("clinics", "0006_security"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(name_devices_default, migrations.RunPython.noop)]
