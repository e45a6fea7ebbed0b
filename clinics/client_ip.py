"""The address of the person at the other end, as django-axes needs it to lock (username, address).

Behind our reverse proxies REMOTE_ADDR is the nearest proxy, the same for everyone. Each trusted
proxy appends the address it received the request from to X-Forwarded-For, so with N of them
(TRUSTED_PROXY_COUNT) the client is the N-th entry from the right. Entries further left were
written by the client and can say anything; with N = 0 the header is not read at all.
"""

import ipaddress

from django.conf import settings


def client_ip_address(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:
        return remote  # did not come through all our proxies: only the socket's address is known
    candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
