"""OpenAPI description of partner authentication: OAuth2 client credentials with our scopes."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension

from .api_auth import RequiresScope


class PartnerOAuth2Scheme(OpenApiAuthenticationExtension):
    target_class = "partners.api_auth.PartnerOAuth2Authentication"
    name = "partnerOAuth2"

    def get_security_requirement(self, auto_schema):
        scopes: list[str] = []
        for permission in auto_schema.view.get_permissions():
            if isinstance(permission, RequiresScope):
                scopes.extend(permission.scopes)
        return {self.name: scopes}

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": (
                "Partner agencies authenticate as machines with the OAuth2 client-credentials grant: "
                "POST grant_type=client_credentials (and optionally scope=...) to /o/token/ with your "
                "client id and secret (HTTP Basic). Tokens are short-lived; ask for a new one when you get 401."
            ),
            "flows": {
                "clientCredentials": {"tokenUrl": "/o/token/", "scopes": dict(settings.OAUTH2_PROVIDER["SCOPES"])}
            },
        }
