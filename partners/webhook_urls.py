"""Where a partner's webhook may point: a public address, never the clinic's own network (SSRF).

Refused: loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16, including the cloud metadata
address 169.254.169.254, and fe80::/10), private ranges (10/8, 172.16/12, 192.168/16, fc00::/7),
shared address space, "this host" (0.0.0.0) and every other address that is not globally
routable, unless the operator names its network in WEBHOOK_ALLOWED_NETWORKS. A name counts as
inside when any of its addresses is. Checked when the address is saved and again, after DNS
resolution, on every delivery (deliveries/webhook_transport.py connects to the address it
checked, so a name that changes its answer in between cannot slip through).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

INSIDE = "The webhook address points to a private or local network address; use the partner's public address."
HTTPS_ONLY = "The webhook address must start with https://."


class UnsafeWebhookAddress(ValueError):
    """The address is on the clinic's own network, or plain http while HTTPS is on."""


def _allowed_networks():
    return [ipaddress.ip_network(net, strict=False) for net in getattr(settings, "WEBHOOK_ALLOWED_NETWORKS", [])]


def is_allowed_address(address: str) -> bool:
    """True for a globally routable unicast address, or one in WEBHOOK_ALLOWED_NETWORKS."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        # An IPv4 address wrapped in IPv6 (::ffff:127.0.0.1, 2002:7f00:1::) is judged as that IPv4 address.
        ip = ip.ipv4_mapped or ip.sixtofour or ip
    if any(ip.version == net.version and ip in net for net in _allowed_networks()):
        return True
    return ip.is_global and not ip.is_multicast


def check_scheme(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https") or (settings.HTTPS and scheme != "https"):
        # Reminders name a referral: they travel encrypted or not at all.
        raise UnsafeWebhookAddress(HTTPS_ONLY)


def resolve_allowed(host: str, port: int) -> str:
    """The address to connect to for `host`: every address it resolves to must be allowed.

    Raises UnsafeWebhookAddress (inside) or socket.gaierror (no such name).
    """
    host = host.strip("[]").rstrip(".")
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [info[4][0] for info in infos]
    if not addresses or not all(is_allowed_address(address) for address in addresses):
        raise UnsafeWebhookAddress(INSIDE)
    return addresses[0]


def check_webhook_url(url: str) -> None:
    """When a webhook address is saved: the scheme, and where its name points now (if it resolves).

    A name that does not resolve yet is accepted; delivery resolves it again and refuses it then.
    """
    check_scheme(url)
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host or host == "localhost" or host.endswith(".localhost"):
        raise UnsafeWebhookAddress(INSIDE)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        resolve_allowed(host, port)
    except (socket.gaierror, UnicodeError, ValueError) as error:
        if isinstance(error, UnsafeWebhookAddress):
            raise
        # Not resolvable now (or no usable port): delivery resolves it again and refuses it then.
