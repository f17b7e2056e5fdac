"""Plain-text renderings shared by the jobs (driver logs) and the CLI."""

from __future__ import annotations

from spark_optimizer.eventlog.ingest import IngestSummary


def record_line(record: dict) -> str:
    apps = ", ".join(record.get("app_ids") or []) or "-"
    line = f"[{record['status']}] {record['source_path']} apps={apps} rows={record['rows_written']}"
    if record.get("reason"):
        line += f"\n    reason: {record['reason']}"
    return line


def summary_line(summary: IngestSummary) -> str:
    counts = summary.as_dict()
    return (
        f"ingested {counts['ingested']}, partial {counts['partial']}, failed {counts['failed']}, "
        f"duplicate {counts['duplicate']}, skipped (not a log) {counts['skipped_not_a_log']}, "
        f"skipped unchanged {counts['skipped_unchanged']}"
        + (f" (of which {counts['unchanged_previously_failed']} failed before)" if counts["unchanged_previously_failed"] else "")
    )
