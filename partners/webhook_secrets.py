"""Webhook signing secrets in the Standard Webhooks format: "whsec_" + base64(32 random bytes).

We generate the secret, show it to the clinic manager once, and sign every webhook with the
decoded bytes (deliveries/signing.py; the scheme is in docs/webhooks.md).
"""

import base64
import binascii
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_webhook_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def webhook_secret_bytes(secret: str) -> bytes:
    """The key for HMAC-SHA256: the base64-decoded part after "whsec_"."""
    if not secret.startswith(PREFIX):
        raise ValueError("A webhook secret starts with 'whsec_'.")
    try:
        return base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("A webhook secret is 'whsec_' followed by base64.") from None
