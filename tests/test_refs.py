"""The one attempt notation, APP_ID/ATTEMPT, and the ingest log's stored APP_ID#ATTEMPT."""

from __future__ import annotations

import pytest

from spark_optimizer.refs import attempt_ref, ingest_log_app, parse_attempt_ref, parse_ingest_log_app


@pytest.mark.parametrize("app_id, attempt_id, ref", [
    ("application_1472176676028_407508", "1", "application_1472176676028_407508/1"),
    ("local-1642039451826", "", "local-1642039451826"),
    ("local-1642039451826", None, "local-1642039451826"),
])
def test_an_attempt_is_written_app_slash_attempt_or_the_app_alone(app_id, attempt_id, ref):
    assert attempt_ref(app_id, attempt_id) == ref
    assert parse_attempt_ref(ref) == (app_id, attempt_id or None)


@pytest.mark.parametrize("app_id, attempt_id, stored", [
    ("application_1472176676028_407508", "1", "application_1472176676028_407508#1"),
    ("local-1642039451826", "", "local-1642039451826#"),
    ("odd#app", "", "odd#app#"),  # an App ID may hold '#'; an attempt id never does
])
def test_the_ingest_logs_stored_form_reads_back(app_id, attempt_id, stored):
    assert ingest_log_app(app_id, attempt_id) == stored
    assert parse_ingest_log_app(stored) == (app_id, attempt_id)
