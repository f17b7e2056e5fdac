"""What the API checks before a request reaches its endpoint, and what its answers never show.

`RequestGuard` is plain ASGI middleware, so it runs before FastAPI reads, parses or validates a
body: the API key first (a client without it learns nothing about the body's validity), then the
body's size (413 from the Content-Length header, or as soon as a streamed body passes the limit;
the body is never held beyond it).
"""

from __future__ import annotations

import hmac
import json
import os
import re
from typing import Awaitable, Callable

API_KEY_HEADER = "X-API-Key"
# Bodies are small JSON objects (a recommendation query, one feedback record).
MAX_BODY_BYTES = 64 * 1024
# Endpoints that change the warehouse: the key is needed whenever the server has one.
WRITE_ROUTES = {("POST", "/feedback")}
MAX_REPORTED_ERRORS = 10

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


async def _answer(send: Send, status: int, detail: str, error: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail, "error": error}).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())] + extra})
    await send({"type": "http.response.body", "body": body})


def _replay(first: dict, receive: Receive) -> Receive:
    """A `receive` that gives `first` (the body read so far, or what ended it), then the client's own."""
    pending = [first]

    async def replayed() -> dict:
        return pending.pop() if pending else await receive()

    return replayed


def key_problem(given: str | None, expected: str) -> tuple[int, str] | None:
    """(status, message) when `given` does not open a guarded endpoint; None when it does."""
    if not given:
        return 401, f"this endpoint needs the {API_KEY_HEADER} header"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return 403, f"the {API_KEY_HEADER} header does not match the server's api_key"
    return None


class RequestGuard:
    """API key, then body size, for every HTTP request (documentation pages and unknown paths too)."""

    def __init__(self, app, settings, max_body_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.settings = settings
        self.max_body_bytes = max_body_bytes

    def _needs_key(self, method: str, path: str) -> bool:
        if not self.settings.api_key:
            return False
        return self.settings.api_key_all or (method, path.rstrip("/") or "/") in WRITE_ROUTES

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self._needs_key(scope["method"], scope["path"]):
            problem = key_problem(headers.get(API_KEY_HEADER.lower()), self.settings.api_key)
            if problem is not None:
                await _answer(send, problem[0], problem[1], "HTTPException",
                              {"WWW-Authenticate": API_KEY_HEADER} if problem[0] == 401 else None)
                return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await _answer(send, 413, self._too_large(), "RequestTooLarge")
            return
        # The body is read here, up to the limit (small), and handed on whole: FastAPI would turn
        # an error raised while it reads the body into a 400.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(message, receive), send)
                return
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                await _answer(send, 413, self._too_large(), "RequestTooLarge")
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> str:
        return f"request body larger than {self.max_body_bytes} bytes; the API takes small JSON objects"


_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.])(?:/[\w.\-+@=]+){2,}/?")


def without_paths(text: str, warehouse: str | None) -> str:
    """`text` with the warehouse location and other absolute file-system paths taken out:
    answers tell a client what went wrong, not where the server keeps its files."""
    if warehouse:
        for root in {warehouse.rstrip("/"), os.path.realpath(warehouse)}:
            if len(root) > 1:
                text = text.replace(root, "<warehouse>")
    return _ABSOLUTE_PATH.sub("<path>", text)
