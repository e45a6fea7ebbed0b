"""Standard Webhooks signatures (https://www.standardwebhooks.com/), documented for partners in docs/webhooks.md.

signature = "v1," + base64(HMAC-SHA256(key, f"{webhook_id}.{timestamp}.{body}")), where key is
the base64-decoded part of the partner's "whsec_..." secret after the prefix.
"""

import base64
import hashlib
import hmac

from partners.webhook_secrets import webhook_secret_bytes


def signature(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(webhook_secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body),
        "content-type": "application/json",
    }
