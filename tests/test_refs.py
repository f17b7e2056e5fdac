"""The one attempt notation, APP_ID/ATTEMPT; and the ingest log's APP_ID#ATTEMPT strings of earlier releases
become (app_id, attempt_id) structs."""

from __future__ import annotations

import pytest

from spark_optimizer.refs import attempt_ref, parse_attempt_ref
from spark_optimizer.tables.upgrades import attempts_of_app_ids


@pytest.mark.parametrize("app_id, attempt_id, ref", [
    ("application_1472176676028_407508", "1", "application_1472176676028_407508/1"),
    ("local-1642039451826", "", "local-1642039451826"),
    ("local-1642039451826", None, "local-1642039451826"),
])
def test_an_attempt_is_written_app_slash_attempt_or_the_app_alone(app_id, attempt_id, ref):
    assert attempt_ref(app_id, attempt_id) == ref
    assert parse_attempt_ref(ref) == (app_id, attempt_id or None)


@pytest.mark.parametrize("stored, app_id, attempt_id", [
    ("application_1472176676028_407508#1", "application_1472176676028_407508", "1"),
    ("local-1642039451826#", "local-1642039451826", ""),
    ("odd#app#", "odd#app", ""),  # an App ID may hold '#'; an attempt id never does
])
def test_the_ingest_logs_earlier_app_ids_become_attempt_structs(stored, app_id, attempt_id):
    assert attempts_of_app_ids([stored]) == [{"app_id": app_id, "attempt_id": attempt_id}]
