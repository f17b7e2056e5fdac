"""Ingest event logs into the Delta tables, batched as the settings say."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from spark_optimizer.refs import attempt_ref
from spark_optimizer.runners.result import RunResult

if TYPE_CHECKING:
    from spark_optimizer.context import AppContext
    from spark_optimizer.eventlog.ingest import IngestSummary


def record_line(record: dict) -> str:
    """One ingest_log record for a person."""
    apps = ", ".join(attempt_ref(app["app_id"], app["attempt_id"]) for app in record.get("attempts") or []) or "-"
    line = f"[{record['status']}] {record['source_path']} apps={apps} rows={record['rows_written']}"
    return line + (f"\n    reason: {record['reason']}" if record.get("reason") else "")


def summary_line(summary: "IngestSummary") -> str:
    counts = summary.as_dict()
    return (
        f"ingested {counts['ingested']}, partial {counts['partial']}, failed {counts['failed']}, "
        f"duplicate {counts['duplicate']}, skipped (not a log) {counts['skipped_not_a_log']}, "
        f"skipped unchanged {counts['skipped_unchanged']}"
        + (f" (of which {counts['unchanged_previously_failed']} failed before)" if counts["unchanged_previously_failed"] else "")
    )


def ingest_result(summary: "IngestSummary") -> RunResult:
    failed = [record_line(r) for r in summary.failed]
    if failed:
        failed.append(f"{len(failed)} event log(s) failed; their reasons are above and in the ingest_log table")
    return RunResult(summary, {"summary": summary.as_dict(), "failed": summary.failed}, (*failed, summary_line(summary)),
                     summary.exit_code)


class IngestRunner:
    """Event logs under a folder, file or Hadoop-FS URI -> the event-log tables (incremental: unchanged
    logs are skipped), `ingest_batch_size` logs or `ingest_batch_mb` MiB per Spark job, written in
    groups of at most `ingest_batch_rows` rows."""

    def __init__(self, ctx: "AppContext"):
        self.ctx = ctx

    def run(self, event_log_dir: str, *, force: bool = False, batch_size: int | None = None,
            on_batch: Callable[[list[dict], int, int], None] | None = None) -> RunResult:
        from spark_optimizer.eventlog.ingest import ingest_event_logs

        settings = self.ctx.settings
        summary = ingest_event_logs(self.ctx.spark_context, self.ctx.store, event_log_dir, self.ctx.now(),
                                    batch_size=batch_size or settings.ingest_batch_size,
                                    batch_bytes=settings.ingest_batch_mb * 1024 * 1024,
                                    batch_rows=settings.ingest_batch_rows, force=force, on_batch=on_batch)
        return ingest_result(summary)
