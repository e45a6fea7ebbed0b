"""A local webhook receiver (a real HTTP server in a thread) and an independent signature check."""

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def standard_webhooks_valid(secret: str, headers: dict, body: bytes, *, tolerance: int = 300, now=None) -> bool:
    """Written here from the Standard Webhooks specification, not from our signer."""
    msg_id, timestamp = headers.get("webhook-id"), headers.get("webhook-timestamp")
    if not msg_id or not timestamp:
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    for candidate in headers.get("webhook-signature", "").split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return True
    return False


@pytest.fixture(autouse=True)
def _the_local_receiver_stands_in_for_a_partner(settings):
    """The receiver listens on 127.0.0.1; outside these tests no private network is allowed (issue 11).

    The real-worker tests get the same through the worker's environment (tests/celery_worker.py).
    """
    settings.WEBHOOK_ALLOWED_NETWORKS = [LOCAL_RECEIVER_NETWORK]


LOCAL_RECEIVER_NETWORK = "127.0.0.1/32"


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class WebhookReceiver:
    url: str = ""
    status: int = 204
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


@pytest.fixture
def webhook_receiver():
    """receiver.url takes POSTs; receiver.received lists them; set .status or .delay to misbehave."""
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if receiver.delay:
                time.sleep(receiver.delay)
            try:
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up waiting, as it should

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/hat"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
