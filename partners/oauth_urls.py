"""The OAuth2 endpoints partners need: the token endpoint and token revocation (RFC 7009).

Partners use the client-credentials grant only, so the authorisation-code pages, application
management and OpenID Connect views of django-oauth-toolkit are deliberately not exposed.
"""

from django.urls import path
from oauth2_provider import views

app_name = "oauth2_provider"

urlpatterns = [
    path("token/", views.TokenView.as_view(), name="token"),
    path("revoke_token/", views.RevokeTokenView.as_view(), name="revoke-token"),
]
