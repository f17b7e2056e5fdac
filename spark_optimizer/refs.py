"""The one way an application attempt is written: `APP_ID/ATTEMPT`, or `APP_ID` when the
application has a single unnamed attempt (the CLI's arguments, its tables and JSON, the REST API's
paths, the reports, the ingest log's reasons and the docs). Tables keep the two parts in their own
columns or struct fields (`app_id`, `attempt_id`)."""

from __future__ import annotations


def attempt_ref(app_id: str, attempt_id: str | None) -> str:
    return app_id + (f"/{attempt_id}" if attempt_id else "")


def parse_attempt_ref(ref: str) -> tuple[str, str | None]:
    """'APP_ID' -> (APP_ID, None); 'APP_ID/ATTEMPT' -> (APP_ID, ATTEMPT)."""
    app_id, _, attempt = ref.partition("/")
    return app_id, attempt or None
