import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("partners", "0004_partnerclient_clinic_assign")]

    operations = [
        migrations.AlterField(
            model_name="partnerclient",
            name="clinic",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="partner_clients",
                to="clinics.clinic",
                help_text="The clinic this client was issued for: it reads that clinic's referrals only.",
            ),
        ),
    ]
