"""Network collectors wait a bounded total time for an unreachable server, and say for what."""

from __future__ import annotations

import time

import pytest

from spark_optimizer.collectors.http import HttpUnavailable, RetryingGetter


class UnreachableSession:
    """A requests-like session whose every GET times out after a short while."""

    def __init__(self):
        self.calls = 0

    def get(self, url, headers=None, timeout=None):
        self.calls += 1
        time.sleep(0.02)
        raise type("ConnectTimeout", (Exception,), {})(f"connect to {url} timed out")


def test_a_getter_gives_up_once_its_total_wait_is_spent_and_then_fails_at_once():
    session = UnreachableSession()
    getter = RetryingGetter(retries=1_000, backoff_s=0.01, session=session, deadline_s=0.3)
    with pytest.raises(HttpUnavailable) as first:
        getter.get("http://history.example:18080/api/v1/applications")
    assert "gave up" in first.value.last and "waiting for history.example:18080 (deadline 0.3 s)" in first.value.last
    assert "ConnectTimeout" in first.value.last and 1 < session.calls < 1_000
    calls = session.calls
    with pytest.raises(HttpUnavailable):
        getter.get("http://history.example:18080/api/v1/applications/app-1/jobs")
    assert session.calls == calls, "after the deadline no request waits again"
