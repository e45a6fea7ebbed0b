import pytest

pytestmark = pytest.mark.django_db


def test_the_partner_endpoint_is_in_the_schema_with_oauth2_client_credentials(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/v1/partner/me/"]["get"]
    assert operation["security"] == [{"partnerOAuth2": []}]
    assert {"200", "401", "403", "429"} <= set(operation["responses"])
    scheme = schema["components"]["securitySchemes"]["partnerOAuth2"]
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/o/token/"
    assert set(flow["scopes"]) == {
        "referrals:read",
        "referrals:write",
        "referrals:submit",
        "alerts:read",
        "alerts:write",
        "diversion:read",
    }


def test_the_authorisation_code_pages_are_not_exposed(client):
    assert client.get("/o/authorize/").status_code == 404
    assert client.get("/o/applications/").status_code == 404
