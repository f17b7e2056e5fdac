"""The collectors' GET: throttled and failing answers are retried as the server asks, within the deadline."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from spark_optimizer.collectors.http import HttpUnavailable, RetryingGetter, retry_after_s


class _ScriptedHandler(BaseHTTPRequestHandler):
    """Answers the server's `script` in order (status, headers), then 200 with `[]`."""

    def do_GET(self):  # noqa: N802
        server = self.server
        server.arrivals.append(time.monotonic())
        status, headers = server.script.pop(0) if server.script else (200, {"Content-Type": "application/json"})
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(b"[]" if status == 200 else b"slow down")

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ScriptedHandler)
    server.script, server.arrivals = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/api/v1/applications"


def test_a_throttled_request_is_retried_after_the_servers_retry_after(scripted_server):
    scripted_server.script = [(429, {"Retry-After": "1"}), (503, {})]
    getter = RetryingGetter(retries=3, backoff_s=0.01)
    answer = getter.get(_url(scripted_server))
    assert answer.status == 200 and answer.body == b"[]"
    first, second, third = scripted_server.arrivals
    assert second - first >= 1.0, "Retry-After: 1 is waited for"
    assert third - second < 1.0, "a 503 without Retry-After backs off exponentially from backoff_s"


def test_a_retry_after_beyond_the_deadline_is_given_up_on_at_once(scripted_server):
    scripted_server.script = [(429, {"Retry-After": "3600"})]
    getter = RetryingGetter(retries=3, deadline_s=60)
    started = time.monotonic()
    with pytest.raises(HttpUnavailable) as failure:
        getter.get(_url(scripted_server))
    assert time.monotonic() - started < 30 and len(scripted_server.arrivals) == 1
    assert failure.value.attempts == 1
    assert failure.value.last.startswith("HTTP 429: slow down; gave up: 127.0.0.1:")
    assert "asks to wait 3600 s (Retry-After), more than the 60 s left of the 60 s deadline" in failure.value.last


def test_throttling_that_outlasts_the_retries_names_the_status(scripted_server):
    scripted_server.script = [(429, {}), (429, {}), (429, {})]
    with pytest.raises(HttpUnavailable) as failure:
        RetryingGetter(retries=2, backoff_s=0.01).get(_url(scripted_server))
    assert failure.value.attempts == 3 and failure.value.last == "HTTP 429: slow down"


def test_a_redirect_loop_is_not_retried(scripted_server):
    scripted_server.script = [(302, {"Location": "/api/v1/applications"})] * 100
    with pytest.raises(HttpUnavailable) as failure:
        RetryingGetter(retries=3, backoff_s=0.01).get(_url(scripted_server))
    assert failure.value.attempts == 1 and failure.value.last.startswith("TooManyRedirects: ")
    assert len(scripted_server.arrivals) == 21, "httpx follows 20 redirects, then stops"


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    now = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
    assert retry_after_s("120", now) == 120.0
    assert retry_after_s(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert retry_after_s(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0.0
    assert retry_after_s("soon", now) is None and retry_after_s(None, now) is None
