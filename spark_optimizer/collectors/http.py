"""GET with retries for the History Server and Prometheus collectors: httpx makes the requests
(per-request timeout, basic or bearer auth, redirects, proxies from the environment) and tenacity
decides when to try again (connection errors, timeouts, 5xx and 429, exponential backoff or the
server's Retry-After), within a total wait deadline per collection."""

from __future__ import annotations

import time
import urllib.parse
import weakref
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Generator, Mapping, NamedTuple

import httpx
import tenacity


class HttpResponse(NamedTuple):
    status: int
    content_type: str
    body: bytes


class HttpUnavailable(Exception):
    """Every attempt failed with a connection error, a timeout, a 5xx or a 429, or the deadline was
    spent; `last` says how the last attempt failed (and why no other was made)."""

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


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """Seconds a `Retry-After` header asks to wait (delay-seconds or an HTTP date, RFC 9110 10.2.3);
    None when there is no header or it cannot be read."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP dates are always GMT
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <token>` on every request (httpx ships only basic and digest)."""

    def __init__(self, token: str):
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


def httpx_auth(auth: tuple[str, str] | str | None) -> httpx.Auth | None:
    """(user, password) is basic auth, a non-empty string a bearer token."""
    if isinstance(auth, tuple):
        return httpx.BasicAuth(*auth)
    if isinstance(auth, str) and auth:
        return BearerAuth(auth)
    return None


class _FailedAttempt(Exception):
    """One failed attempt; `retryable` for a connection error, a timeout, a 5xx or a 429 (not for a
    redirect loop, a redirect to another scheme or an unreadable URL or body)."""

    def __init__(self, reason: str, retry_after_s: float | None = None, retryable: bool = True):
        super().__init__(reason)
        self.reason, self.retry_after_s, self.retryable = reason, retry_after_s, retryable


# Seconds a getter may spend, over its whole life (one collection), on failed attempts and the
# pauses between them; once spent, every request fails at once instead of waiting again.
WAIT_DEADLINE_S = 300.0


class RetryingGetter:
    """GETs for one collection. `client` is an httpx.Client of the caller's (proxies, certificates,
    transports); by default one is made and closed with the getter."""

    def __init__(self, *, timeout_s: float = 30, retries: int = 3, backoff_s: float = 0.5,
                 auth: tuple[str, str] | str | None = None, headers: Mapping[str, str] | None = None,
                 client: httpx.Client | None = None, deadline_s: float = WAIT_DEADLINE_S):
        self.timeout_s, self.retries = timeout_s, max(0, retries)
        self.deadline_s, self.waited_s = deadline_s, 0.0
        self.headers = {"Accept": "application/json", **dict(headers or {})}
        self.auth = httpx_auth(auth)
        self._backoff = tenacity.wait_exponential(multiplier=backoff_s)
        if client is None:
            client = httpx.Client()
            weakref.finalize(self, client.close)
        self.client = client

    def _left_s(self) -> float:
        return self.deadline_s - self.waited_s

    def _get_once(self, url: str) -> HttpResponse:
        began = time.monotonic()
        try:
            response = self.client.get(url, headers=self.headers, timeout=self.timeout_s, follow_redirects=True,
                                       auth=self.auth or httpx.USE_CLIENT_DEFAULT)
        except (httpx.UnsupportedProtocol, httpx.TooManyRedirects, httpx.DecodingError, httpx.InvalidURL) as exc:
            raise _FailedAttempt(f"{type(exc).__name__}: {exc}", retryable=False) from None
        except httpx.TransportError as exc:
            self.waited_s += time.monotonic() - began
            raise _FailedAttempt(f"{type(exc).__name__}: {exc or 'no detail'}") from None
        status = response.status_code
        if status >= 500 or status == 429:  # overloaded, gateway, throttled: worth another try
            self.waited_s += time.monotonic() - began
            raise _FailedAttempt(f"HTTP {status}: {response.content[:200].decode(errors='replace').strip()}",
                                 retry_after_s(response.headers.get("Retry-After"), datetime.now(timezone.utc)))
        return HttpResponse(status, response.headers.get("Content-Type", ""), response.content)

    def _pause_s(self, state: tenacity.RetryCallState) -> float:
        failure = state.outcome.exception()
        wanted = failure.retry_after_s if failure.retry_after_s is not None else self._backoff(state)
        return max(0.0, min(wanted, self._left_s()))

    def _out_of_time(self, state: tenacity.RetryCallState) -> bool:
        wanted = state.outcome.exception().retry_after_s
        return self._left_s() <= 0 or (wanted is not None and wanted > self._left_s())

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)
        self.waited_s += seconds

    def _gave_up(self, host: str, failure: _FailedAttempt | None) -> str:
        last = f"{failure.reason}; " if failure else ""
        if failure and failure.retry_after_s is not None and failure.retry_after_s > self._left_s() > 0:
            return (f"{last}gave up: {host} asks to wait {failure.retry_after_s:.0f} s (Retry-After), more than the "
                    f"{self._left_s():.0f} s left of the {self.deadline_s:g} s deadline")
        return (f"{last}gave up: {self.waited_s:.1f} s already spent waiting for {host} "
                f"(deadline {self.deadline_s:g} s)")

    def get(self, url: str) -> HttpResponse:
        """The first answer that is neither a 5xx nor a 429; raises HttpUnavailable when every
        attempt failed or the getter's wait deadline is spent."""
        host = urllib.parse.urlsplit(url).netloc
        if self._left_s() <= 0:
            raise HttpUnavailable(self._gave_up(host, None), 0)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda failure: isinstance(failure, _FailedAttempt) and failure.retryable),
            stop=tenacity.stop_after_attempt(self.retries + 1) | self._out_of_time,
            wait=self._pause_s, sleep=self._sleep, reraise=True)
        try:
            return retrying(self._get_once, url)
        except _FailedAttempt as failure:
            attempts = retrying.statistics.get("attempt_number", self.retries + 1)
            if failure.retryable and attempts <= self.retries:  # stopped early: no time left for another attempt
                raise HttpUnavailable(self._gave_up(host, failure), attempts) from None
            raise HttpUnavailable(failure.reason, attempts) from None
