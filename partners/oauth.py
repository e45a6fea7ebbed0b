"""django-oauth-toolkit hooks: only active partner clients get tokens, and only the scopes granted.

Wired in settings.OAUTH2_PROVIDER (SCOPES_BACKEND_CLASS, OAUTH2_VALIDATOR_CLASS).
"""

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes

from .models import PartnerClient
from .selectors import granted_scopes


class PartnerScopes(SettingsScopes):
    """A client may ask for any of its granted scopes and gets all of them when it asks for none."""

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            return super().get_available_scopes(application, request, *args, **kwargs)
        return granted_scopes(application)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            return super().get_default_scopes(application, request, *args, **kwargs)
        return granted_scopes(application)


class PartnerOAuth2Validator(OAuth2Validator):
    def authenticate_client(self, request, *args, **kwargs):
        """A right secret is not enough: the client must belong to an active partner and not be revoked."""
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        return PartnerClient.objects.active().filter(application=request.client).exists()

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        # Partners are machines: client credentials only, whatever an application row says.
        return grant_type == "client_credentials" and super().validate_grant_type(
            client_id, grant_type, client, request, *args, **kwargs
        )
