"""The in-process HTTP server the cloud API fakes (`databricks_api`, `dataproc_api`) share: a threading
server on 127.0.0.1:<free port>, started and stopped with the fake, JSON answers, offset page tokens.
A subclass seeds its resources and implements `_handle(handler, method)`."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping

from tests.fakes.history_server import free_port


class LocalJsonApi:
    """`requests` lists what the server received (each subclass says in which form); `fault(...)` and
    `deny(...)` of a subclass fill `_faults` and `_denied`."""

    content_type = "application/json"

    def __init__(self) -> None:
        self.requests: list[tuple] = []
        self._faults: list[dict] = []
        self._denied: dict[str, str] = {}
        self._lock = threading.Lock()
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                api._handle(self, "GET")

            def do_POST(self):  # noqa: N802
                api._handle(self, "POST")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        raise NotImplementedError

    def _send(self, handler: BaseHTTPRequestHandler, status: int, payload: Any,
              headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def _page(items: list, token: str | None, size: int) -> tuple[list, str | None]:
        """The page at offset `token` and the token of the next page (None on the last)."""
        start = int(token or 0)
        return items[start:start + size], (str(start + size) if start + size < len(items) else None)
