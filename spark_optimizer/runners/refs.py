"""The one way an application attempt is written: `APP_ID/ATTEMPT`, or `APP_ID` when the
application has a single unnamed attempt (the CLI's arguments, its tables and JSON, the REST API's
paths, the reports and the docs)."""

from __future__ import annotations


def attempt_ref(app_id: str, attempt_id: str | None) -> str:
    return app_id + (f"/{attempt_id}" if attempt_id else "")
