"""A private redis-server the test starts on its own port, and can stop and start again (issue 13).

Ports 6390-6399 are this suite's; the shared Redis on 6379 is never stopped.
"""

import shutil
import socket
import subprocess
import time
from contextlib import closing

import pytest

PORTS = range(6390, 6400)


def _port_is_free(port: int) -> bool:
    with closing(socket.socket()) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class PrivateRedis:
    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while _port_is_free(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis():
    """A running redis-server on a free port of 6390-6399 with nothing in it; stopped afterwards."""
    port = next((p for p in PORTS if _port_is_free(p)), None)
    if port is None:
        pytest.fail("no free port in 6390-6399 for a private redis-server")
    server = PrivateRedis(port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
