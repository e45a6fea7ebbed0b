"""Partner API measurements (issue 7: "the partner referral list"): one function per measurement, durations in ms.

A partner's system signs in as a machine (OAuth2 client credentials at /o/token/) and reads
GET /api/v1/partner/referrals/. The partner of `bench.data.partner_with_referrals` has 200
referrals it may see among others it may not (another partner's; consent withdrawn).

Target p95 <= 150 ms is ours, not the issue's (issue 7 sets none): the same as the dosing board,
another list a person waits for.
"""

from .client import Partner, timed

LIST = "/api/v1/partner/referrals/"
WHOLE_LIST = 200  # the API's largest page (onward.api_common.MAX_PAGE_SIZE): a full sync in one request


def _partner(base: str, sites) -> Partner:
    site = sites["partner"]
    return Partner(base, site.client_id, site.client_secret)


def _references(partner: Partner, params: dict) -> list[str]:
    """Every reference the list shows for these filters, following `next_cursor` to the last page."""
    references, cursor = [], None
    while True:
        response = partner.get(LIST, {**params, **({"cursor": cursor} if cursor else {})})
        if response.status_code != 200:
            raise RuntimeError(f"GET {LIST} answered {response.status_code}: {response.text[:300]}")
        page = response.json()
        references += [row["reference"] for row in page["results"]]
        cursor = page["next_cursor"]
        if not cursor:
            return references


def _check(partner: Partner, params: dict, expected: int, what: str) -> None:
    """The list shows exactly the referrals it should (addressed to the partner, consent live), each once."""
    references = _references(partner, params)
    if len(references) != expected or len(set(references)) != expected:
        raise RuntimeError(f"the partner list {what} showed {len(references)} referrals, expected {expected}")


def referral_list(base: str, sites, *, requests: int, warmup: int) -> list[float]:
    """GET /api/v1/partner/referrals/?page_size=200: every referral addressed to the partner, one page."""
    partner = _partner(base, sites)
    _check(partner, {}, sites["partner"].referrals, "")
    params = {"page_size": WHOLE_LIST}
    return timed(requests, warmup, lambda _: partner.get(LIST, params), 200)


def referral_list_updated_since(base: str, sites, *, requests: int, warmup: int) -> list[float]:
    """GET /api/v1/partner/referrals/?updated_since=<a week ago>: a partner's periodic sync (default page)."""
    partner = _partner(base, sites)
    params = {"updated_since": sites["partner"].updated_since.isoformat()}
    _check(partner, params, sites["partner"].updated_recently, "updated since a week ago")
    return timed(requests, warmup, lambda _: partner.get(LIST, params), 200)


# name -> (function, target p95 in ms or None, where the target comes from)
MEASUREMENTS = {
    "partner.referrals": (referral_list, 150.0, "ours"),
    "partner.referrals_updated_since": (referral_list_updated_since, 150.0, "ours"),
}
