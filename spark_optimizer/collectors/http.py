"""GET with retries for the collectors: exponential backoff on 5xx and connection errors,
basic or bearer auth, custom headers, urllib by default or a requests-like session."""

from __future__ import annotations

import base64
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Mapping, NamedTuple


class HttpResponse(NamedTuple):
    status: int
    content_type: str
    body: bytes


class HttpUnavailable(Exception):
    """Every attempt failed with a connection error or a 5xx; `last` says how the last one failed."""

    def __init__(self, last: str, attempts: int):
        super().__init__(last)
        self.last, self.attempts = last, attempts


def url_credentials(raw: str) -> tuple[str, str] | None:
    """(user, password) written into a URL as `scheme://user:password@host`, else None."""
    parts = urllib.parse.urlsplit(raw.strip())
    if parts.username is None:
        return None
    return urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or "")


def without_credentials(raw: str) -> str:
    """The URL without its `user:password@`: what may be printed, logged or stored."""
    parts = urllib.parse.urlsplit(raw.strip())
    if parts.username is None and "@" not in parts.netloc:
        return raw.strip()
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def base_url_of(raw: str, api_suffixes: tuple[str, ...]) -> str | None:
    """`raw` without a trailing API path and without credentials (see `url_credentials`);
    None when it is not an http(s) URL."""
    url = without_credentials(raw).rstrip("/")
    for suffix in api_suffixes:
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url if url.startswith(("http://", "https://")) else None


def with_query(url: str, params: Mapping[str, Any] | None) -> str:
    return f"{url}?{urllib.parse.urlencode(params)}" if params else url


# Seconds a getter may spend, over its whole life (one collection), on failed attempts and the
# pauses between them; once spent, every request fails at once instead of waiting again.
WAIT_DEADLINE_S = 300.0


class RetryingGetter:
    def __init__(self, *, timeout_s: float = 30, retries: int = 3, backoff_s: float = 0.5,
                 auth: tuple[str, str] | str | None = None, headers: Mapping[str, str] | None = None,
                 session: Any = None, deadline_s: float = WAIT_DEADLINE_S):
        self.timeout_s, self.retries, self.backoff_s, self.session = timeout_s, max(0, retries), backoff_s, session
        self.deadline_s, self.waited_s = deadline_s, 0.0
        self.headers = {"Accept": "application/json", **dict(headers or {})}
        if isinstance(auth, tuple):
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        elif isinstance(auth, str) and auth:
            self.headers["Authorization"] = f"Bearer {auth}"

    def _get_once(self, url: str) -> HttpResponse:
        if self.session is not None:
            response = self.session.get(url, headers=self.headers, timeout=self.timeout_s)
            return HttpResponse(response.status_code, response.headers.get("Content-Type", ""), response.content)
        request = urllib.request.Request(url, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return HttpResponse(response.status, response.headers.get("Content-Type", ""), response.read())
        except urllib.error.HTTPError as exc:
            return HttpResponse(exc.code, exc.headers.get("Content-Type", "") if exc.headers else "", exc.read() or b"")

    def get(self, url: str) -> HttpResponse:
        """The first answer below 500; raises HttpUnavailable when every attempt failed."""
        last = ""
        for attempt in range(self.retries + 1):
            if self.waited_s >= self.deadline_s:
                raise HttpUnavailable(f"{last + '; ' if last else ''}gave up: {self.waited_s:.0f} s already spent "
                                      f"waiting for {urllib.parse.urlsplit(url).netloc} (deadline {self.deadline_s:g} s)",
                                      attempt)
            if attempt:
                pause = min(self.backoff_s * 2 ** (attempt - 1), self.deadline_s - self.waited_s)
                time.sleep(pause)
                self.waited_s += pause
            began = time.monotonic()
            try:
                response = self._get_once(url)
            except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
                last = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
                self.waited_s += time.monotonic() - began
                continue
            except Exception as exc:  # a requests-like session's own connection errors
                if "Connection" in type(exc).__name__ or "Timeout" in type(exc).__name__:
                    last = f"{type(exc).__name__}: {exc}"
                    self.waited_s += time.monotonic() - began
                    continue
                raise
            if response.status >= 500:  # internal error, overloaded, gateway: worth another try
                last = f"HTTP {response.status}: {response.body[:200].decode(errors='replace').strip()}"
                self.waited_s += time.monotonic() - began
                continue
            return response
        raise HttpUnavailable(last, self.retries + 1)
