"""A partner's system as seen from outside: a real OAuth2 token from /o/token/, real HTTP with `requests`."""

import requests

API = "/api/v1/partner"


def get_token(server, client, scope=None) -> str:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    response = requests.post(f"{server.url}/o/token/", data=data, auth=(client.client_id, client.secret), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


class PartnerSystem:
    """partner = PartnerSystem(live_server, api_client); partner.get("/referrals/")"""

    def __init__(self, server, client=None, *, token: str | None = None, scope=None):
        self.server = server
        self.token = token if token is not None else get_token(server, client, scope)

    def _headers(self, extra=None) -> dict:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path: str, *, params=None, headers=None) -> requests.Response:
        return requests.get(f"{self.server.url}{API}{path}", params=params, headers=self._headers(headers), timeout=10)

    def post(self, path: str, json=None, *, headers=None) -> requests.Response:
        return requests.post(f"{self.server.url}{API}{path}", json=json, headers=self._headers(headers), timeout=10)

    def change(self, reference: str, action: str, json=None, *, headers=None) -> requests.Response:
        """Read the referral for its ETag, then POST the change with If-Match, as a careful client does."""
        etag = self.get(f"/referrals/{reference}/").headers["ETag"]
        return self.post(f"/referrals/{reference}/{action}/", json, headers={"If-Match": etag, **(headers or {})})
