"""Authentication, permissions and throttling for the partner API (SPEC 6).

A partner view declares:

    authentication_classes = [PartnerOAuth2Authentication]
    permission_classes = [RequiresScope("referrals:read")]
    throttle_classes = [PartnerClientRateThrottle]

(or inherits all three from `PartnerAPIView`). Then:
- no token, an unknown, expired or revoked token, or a client of an inactive partner: 401
  with `WWW-Authenticate: Bearer ...`;
- a valid token without the scope: 403;
- more requests than API_THROTTLE_PARTNER per client: 429 with Retry-After.
`request.partner` is the PartnerOrganisation, `request.partner_client` the PartnerClient,
`request.auth` the AccessToken. Partners are not users: `request.user` stays anonymous, so
nothing can mistake a partner for a member of staff (and no history row names a user).
"""

from django.contrib.auth.models import AnonymousUser
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from .models import PartnerClient

THROTTLE_SCOPE = "partner"


class PartnerOAuth2Authentication(OAuth2Authentication):
    """Bearer tokens of active partner clients only; sets request.partner and request.partner_client."""

    www_authenticate_realm = "partner-api"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None  # DRF answers 401 "Authentication credentials were not provided."
        result = super().authenticate(request)
        if result is None:
            raise exceptions.AuthenticationFailed("The access token is unknown, expired or revoked.")
        _user, token = result
        client = (
            PartnerClient.objects.active().select_related("partner").filter(application_id=token.application_id).first()
        )
        if client is None:
            # A token of an application that is not (or no longer) an active partner client.
            raise exceptions.AuthenticationFailed("The access token is unknown, expired or revoked.")
        request.partner = client.partner
        request.partner_client = client
        request._request.partner = client.partner  # for middleware and logging that see the Django request
        return AnonymousUser(), token


def partner_scopes(request) -> list[str]:
    token = getattr(request, "auth", None)
    return token.scope.split() if token is not None and hasattr(token, "scope") else []


class RequiresScope(BasePermission):
    """permission_classes = [RequiresScope("referrals:write")]: an authenticated partner whose token has every scope.

    An instance stands in for a class in `permission_classes` (DRF calls it to instantiate).
    """

    def __init__(self, *scopes: str):
        self.scopes = list(scopes)
        self.message = f"This needs an access token with the scope {' and '.join(self.scopes)}." if scopes else None

    def __call__(self):
        return self

    def has_permission(self, request, view) -> bool:
        if getattr(request, "partner_client", None) is None:
            # Not signed in as a partner: DRF turns this into 401, since no authenticator succeeded.
            return False
        return set(self.scopes).issubset(partner_scopes(request))


class PartnerClientRateThrottle(SimpleRateThrottle):
    """Per partner client (not per address): API_THROTTLE_PARTNER, e.g. "120/minute"."""

    scope = THROTTLE_SCOPE

    def get_rate(self):
        # Read now, not at import, so a changed setting (tests, reload) applies.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        client = getattr(request, "partner_client", None)
        if client is None:
            return None  # not a partner request: not ours to throttle
        return self.cache_format % {"scope": self.scope, "ident": client.client_id}


class PartnerAPIView(APIView):
    """Base for partner endpoints: OAuth2 partner tokens, per-client throttling; set `permission_classes`."""

    authentication_classes = [PartnerOAuth2Authentication]
    permission_classes = [RequiresScope()]
    throttle_classes = [PartnerClientRateThrottle]
    renderer_classes = [JSONRenderer]  # machines only: never the browsable HTML API
