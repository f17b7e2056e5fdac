"""The one way an application attempt is written: `APP_ID/ATTEMPT`, or `APP_ID` when the
application has a single unnamed attempt (the CLI's arguments, its tables and JSON, the REST API's
paths, the reports, the ingest log's reasons and the docs).

The ingest_log table's `app_ids` column keeps its stored form `APP_ID#ATTEMPT` (the attempt id never
holds '#', eventlog.validate rejects it; an App ID may): `ingest_log_app` writes it and
`parse_ingest_log_app` reads it, nothing else spells it."""

from __future__ import annotations


def attempt_ref(app_id: str, attempt_id: str | None) -> str:
    return app_id + (f"/{attempt_id}" if attempt_id else "")


def parse_attempt_ref(ref: str) -> tuple[str, str | None]:
    """'APP_ID' -> (APP_ID, None); 'APP_ID/ATTEMPT' -> (APP_ID, ATTEMPT)."""
    app_id, _, attempt = ref.partition("/")
    return app_id, attempt or None


def ingest_log_app(app_id: str, attempt_id: str | None) -> str:
    """An attempt as the ingest_log table's `app_ids` column stores it."""
    return f"{app_id}#{attempt_id or ''}"


def parse_ingest_log_app(stored: str) -> tuple[str, str]:
    """An `app_ids` entry -> (app_id, attempt_id); the attempt id is '' for an unnamed attempt."""
    app_id, _, attempt_id = stored.rpartition("#")
    return (app_id, attempt_id) if app_id else (stored, "")
