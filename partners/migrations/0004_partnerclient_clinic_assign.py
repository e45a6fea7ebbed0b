"""Give every existing partner client the one clinic it belongs to (issue 11, hole 4).

The rule, in order:
1. the clinics the client's creator worked at that also work with the partner: if there is one,
   that one (the manager made it for their clinic's link);
2. otherwise the partner's clinics: if there is one, that one;
3. otherwise, when several remain possible (a regional manager, or no creator recorded), the one
   with the lowest id among them: the client then sees less than before, never more, and is
   printed here for a manager to check;
4. a client whose partner works with no clinic at all is revoked (it could reach nothing that is
   still shared with it): it gets the creator's first clinic, or the first clinic, as a record.
Revoked clients follow the same rule, so the record names a clinic too.
"""

from django.db import migrations
from django.utils import timezone


def assign_clinics(apps, schema_editor):
    PartnerClient = apps.get_model("partners", "PartnerClient")
    Clinic = apps.get_model("clinics", "Clinic")
    Application = apps.get_model("oauth2_provider", "Application")
    for client in PartnerClient.objects.filter(clinic__isnull=True).select_related("partner", "created_by"):
        partner_clinics = set(client.partner.clinics.values_list("pk", flat=True))
        made_by = set(client.created_by.clinics.values_list("pk", flat=True)) if client.created_by_id else set()
        candidates = (made_by & partner_clinics) or partner_clinics
        if candidates:
            client.clinic_id = min(candidates)
            if len(candidates) > 1:
                print(f"\n  partner client {client.client_id}: assigned to clinic {client.clinic_id}; please check")
            client.save(update_fields=["clinic"])
            continue
        fallback = min(made_by) if made_by else Clinic.objects.order_by("pk").values_list("pk", flat=True).first()
        if fallback is None:
            continue  # no clinic exists at all, so no client can exist either
        client.clinic_id = fallback
        update = ["clinic"]
        if client.revoked_at is None:
            application_id = client.application_id
            client.application_id = None
            client.revoked_at = timezone.now()
            update += ["application", "revoked_at"]
            print(f"\n  partner client {client.client_id}: revoked, its partner works with no clinic")
        client.save(update_fields=update)
        if client.revoked_at is not None and "revoked_at" in update and application_id is not None:
            Application.objects.filter(pk=application_id).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0003_partnerclient_clinic"),
        ("oauth2_provider", "0001_initial"),
    ]

    operations = [migrations.RunPython(assign_clinics, migrations.RunPython.noop)]
