"""A private redis-server the test starts on its own port, and can stop and start again (issue 13).

Ports 6390-6399 are this suite's; the shared Redis on 6379 is never stopped. Each pytest-xdist worker
starts its search at its own place in that range, and a server counts as started only when the one
answering on the port is the process we started (its INFO process_id): with two workers, or two
engineers, the port found free a moment ago may be taken before our redis-server binds it, and
then ours exits while the other one answers.
"""

import os
import shutil
import socket
import subprocess
import time
from contextlib import closing

import pytest
import redis

PORTS = range(6390, 6400)


class PortTaken(Exception):
    """Another redis-server (of another worker or engineer) answers on the port."""


def _port_is_free(port: int) -> bool:
    with closing(socket.socket()) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _pid_answering(port: int) -> int | None:
    try:
        return int(redis.Redis(port=port, socket_timeout=1).info("server")["process_id"])
    except redis.RedisError:
        return None


def ports_for_this_worker() -> list[int]:
    """The range, starting at this worker's own share of it (gw0: 6390, gw1: 6395 with two workers)."""
    ports = list(PORTS)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return ports
    count = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
    start = int(worker.removeprefix("gw")) * len(ports) // count % len(ports)
    return ports[start:] + ports[:start]


class PrivateRedis:
    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start redis-server on self.port; PortTaken if someone else's server holds it."""
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--bind",
                "127.0.0.1",
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
        while True:
            if self.process.poll() is not None:  # bind failed: the port is someone else's
                self.process = None
                raise PortTaken(f"port {self.port}: another redis-server answers there")
            pid = _pid_answering(self.port)
            if pid == self.process.pid:
                return
            if time.monotonic() > deadline:
                self.stop()
                if pid is not None:
                    raise PortTaken(f"port {self.port}: redis-server {pid}, not ours, answers there")
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
    for port in ports_for_this_worker():
        if not _port_is_free(port):
            continue
        server = PrivateRedis(port)
        try:
            server.start()
        except PortTaken:
            continue
        break
    else:
        pytest.fail("no free port in 6390-6399 for a private redis-server")
    try:
        yield server
    finally:
        server.stop()
