"""Network collectors wait a bounded total time for a server that does not answer, and say for what."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from spark_optimizer.collectors.http import HttpUnavailable, RetryingGetter


class SilentServer:
    """A real TCP server on 127.0.0.1 that accepts every connection and never answers."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:  # shut down by __exit__
                return
            self.connections.append(connection)

    def wait_for_connections(self, count: int, timeout_s: float = 30) -> int:
        deadline = time.monotonic() + timeout_s
        while len(self.connections) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.connections)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.socket.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        self.socket.close()
        for connection in self.connections:
            connection.close()
        self.thread.join(timeout=10)


def test_a_getter_gives_up_once_its_total_wait_is_spent_and_then_fails_at_once():
    with SilentServer() as server:
        getter = RetryingGetter(retries=1_000, backoff_s=0.01, timeout_s=0.05, deadline_s=0.5)
        host = f"127.0.0.1:{server.port}"
        with pytest.raises(HttpUnavailable) as first:
            getter.get(f"http://{host}/api/v1/applications")
        assert "ReadTimeout" in first.value.last
        assert "gave up: " in first.value.last and f"waiting for {host} (deadline 0.5 s)" in first.value.last
        assert 1 < first.value.attempts < 1_000 and getter.waited_s >= 0.5
        requests_made = server.wait_for_connections(first.value.attempts)
        assert requests_made == first.value.attempts
        with pytest.raises(HttpUnavailable) as second:
            getter.get(f"http://{host}/api/v1/applications/app-1/jobs")
        assert second.value.attempts == 0 and f"waiting for {host}" in second.value.last
        assert len(server.connections) == requests_made, "after the deadline no request waits again"
