import factory

from partners.models import PartnerClient
from partners.services import partner_client_create


class PartnerClientFactory(factory.Factory):
    """An active API client made through the service: PartnerClientFactory(partner=p, scopes=["referrals:read"]).

    It is issued for `clinic`, by default the first of the partner's clinics. The returned
    PartnerClient carries the plain secret as `.secret` (the database has only its hash).
    """

    class Meta:
        model = PartnerClient

    partner = None
    clinic = None
    scopes = factory.LazyFunction(lambda: ["referrals:read"])
    label = ""

    @classmethod
    def _create(cls, model_class, partner, scopes, label, clinic=None, **kwargs):
        clinic = clinic or partner.clinics.order_by("pk").first()
        client_id, secret = partner_client_create(partner=partner, clinic=clinic, scopes=scopes, label=label)
        client = model_class.objects.select_related("partner", "application").get(client_id=client_id)
        client.secret = secret
        return client

    _build = _create
