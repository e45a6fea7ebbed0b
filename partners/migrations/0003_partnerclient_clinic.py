import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clinics", "0005_clinic_bank_holidays"),
        ("partners", "0002_partner_clients_and_webhook_secret"),
    ]

    operations = [
        migrations.AddField(
            model_name="partnerclient",
            name="clinic",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="partner_clients",
                to="clinics.clinic",
                help_text="The clinic this client was issued for: it reads that clinic's referrals only.",
            ),
        ),
    ]
