"""Parse one event-log group into table rows and one ingest-log record.

Runs inside a Spark task (one group per task). Bad input never raises out of here: what
could not be read becomes the group's status and reason, with file and line numbers.
"""

from __future__ import annotations

import io
import os
import socket
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import orjson

from spark_optimizer.eventlog.accumulator import AppAccumulator, Row
from spark_optimizer.eventlog.codecs import EventLogCodecError, TruncatedStreamError, open_decompressed
from spark_optimizer.eventlog.discovery import LogFile, LogGroup, group_log_files
from spark_optimizer.eventlog.redact import free_text_positions, redact_row, redact_tuple, redaction_rule
from spark_optimizer.eventlog.storage import open_binary
from spark_optimizer.eventlog.task_end_struct import decode_successful_task_end, plausible_times
from spark_optimizer.eventlog.validate import event_problem, impossible_figures, latest_plausible_time_ms
from spark_optimizer.tables import APPLICATIONS, EVENT_LOG_TABLES, INGEST_LOG, TASKS
from spark_optimizer.tables.instants import from_epoch_ms

PARSER_VERSION = "1"
# High-volume events that carry nothing the tables use: counted, not decoded.
_SKIPPED_PREFIXES = (b'{"Event":"SparkListenerTaskStart"', b'{"Event":"SparkListenerBlockUpdated"')
_TASK_END_PREFIX = b'{"Event":"SparkListenerTaskEnd"'
_ACCUMULABLES = b',"Accumulables":['
MAX_REASONS = 5
_SPECS = {spec.name: spec for spec in EVENT_LOG_TABLES}
Emit = Callable[[str, Row | tuple], None]  # task rows are tuples in TASKS column order


@dataclass
class _StreamOutcome:
    """What reading one event stream (one application's parts) found."""

    label: str
    lines: int = 0
    bad_lines: int = 0
    rejected_events: int = 0
    events: int = 0
    uncompressed_bytes: int = 0
    problems: list[str] = field(default_factory=list)
    fatal: str | None = None
    accumulator: AppAccumulator | None = None

    def reject(self, text: str) -> None:
        """An event that was read but not folded: an impossible value, a missing id."""
        self.rejected_events += 1
        self.problem(text)

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_REASONS:
            self.problems.append(text)
        elif len(self.problems) == MAX_REASONS:
            self.problems.append("… more problems not listed")


_TASK_TEXT = free_text_positions(TASKS.name, TASKS.column_names)
# Tasks carry one free-text column (the failure reason, null unless the task failed): tested inline,
# per task, so that a successful task's row costs no call.
(_TASK_FAILURE_TEXT,) = _TASK_TEXT


def _redacted_task(row: tuple, accumulator: AppAccumulator) -> tuple:
    """A task's row (a tuple, so not `redact_row`'s) with its free text redacted by the application's rule."""
    return redact_tuple(row, _TASK_TEXT, redaction_rule(accumulator.spark_properties.get("spark.redaction.regex")))


def without_task_accumulables(line: bytes) -> bytes | None:
    """A TaskEnd line without its Task Info "Accumulables" array, or None when the line does not
    have the shape this cut relies on.

    TaskEnd lines are most of a log's bytes and more than half of each is the Accumulables
    array (every SQL and internal metric again, as name/update/value objects), which the tables
    do not use: the same figures are read from "Task Metrics". Spark's JsonProtocol writes
    Accumulables as the last field of Task Info, so the array ends at the first `]}` that is
    followed by the next TaskEnd field ("Task Executor Metrics" or "Task Metrics") or by the end
    of the event. The caller parses the cut line and falls back to the whole line when that fails,
    so a line of another shape costs time, never data."""
    start = line.find(_ACCUMULABLES)
    if start < 0:
        return None
    end = line.find(b']},"Task', start)
    if end < 0:
        line = line.rstrip(b"\r\n")
        if not line.endswith(b"]}}"):
            return None
        end = len(line) - 3
    return line[:start] + line[end + 1 :]


def _fast_task_end(line: bytes) -> dict | None:
    """The TaskEnd event parsed without its accumulables, or None (parse the whole line instead)."""
    cut = without_task_accumulables(line)
    if cut is None:
        return None
    try:
        event = orjson.loads(cut)
    except orjson.JSONDecodeError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("Task Info"), dict) else None


def worker_identity() -> str:
    """'executor <id> on <host>' when run by a standalone/YARN executor, else 'driver on <host>'."""
    host = socket.gethostname()
    pid = os.getpid()
    for _ in range(6):  # python worker -> pyspark daemon -> executor JVM
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                args = handle.read().split(b"\0")
            if b"--executor-id" in args:
                return f"executor {args[args.index(b'--executor-id') + 1].decode()} on {host}"
            with open(f"/proc/{pid}/stat", "rb") as handle:
                pid = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        if pid <= 1:
            break
    return f"driver on {host}"


def _read_stream(
    parts: list[tuple[str, Callable[[], Any], str]],
    outcome: _StreamOutcome,
    accumulator: AppAccumulator,
) -> None:
    """Feed the parts (label, opener, codec) to the accumulator in order, recording problems."""
    loads = orjson.loads
    accept = accumulator.accept
    accept_task_end = accumulator.accept_successful_task_end
    latest_time = latest_plausible_time_ms()
    for label, opener, codec in parts:
        last_bad: int | None = None
        line_no = 0
        try:
            with opener() as raw:
                stream = open_decompressed(raw, codec)
                # Per-line counts are kept in locals and added to the outcome once per part (also
                # when the stream fails): attribute updates on every line cost more than the
                # decode of a skipped event.
                events = skipped = size = 0
                line = b""
                try:
                    # Lines keep their newline: JSON allows the whitespace, and copying every line
                    # to strip it costs more than the decode of a short event.
                    for line in stream:
                        line_no += 1
                        size += len(line)
                        if line.startswith(_SKIPPED_PREFIXES):
                            skipped += 1
                            continue
                        if line.isspace():
                            continue
                        event = None
                        if line.startswith(_TASK_END_PREFIX):
                            task_end = decode_successful_task_end(line)
                            if task_end is not None and plausible_times(task_end, latest_time):
                                events += 1
                                try:
                                    accept_task_end(task_end)
                                except Exception as exc:  # noqa: BLE001  (one event, never the log)
                                    outcome.reject(f"{label} line {line_no}: SparkListenerTaskEnd could not be "
                                                   f"folded ({type(exc).__name__}: {exc}); event skipped")
                                continue
                            event = _fast_task_end(line)
                        if event is None:
                            try:
                                event = loads(line)
                            except orjson.JSONDecodeError as exc:
                                outcome.bad_lines += 1
                                last_bad = line_no
                                outcome.problem(f"{label} line {line_no}: malformed JSON ({exc}); line skipped")
                                continue
                        if not isinstance(event, dict) or "Event" not in event:
                            outcome.bad_lines += 1
                            outcome.problem(f"{label} line {line_no}: JSON without an 'Event' field; line skipped")
                            continue
                        events += 1
                        name = event["Event"]
                        short = name.rsplit(".", 1)[-1] if name.__class__ is str else ""
                        problem = event_problem(event, short, latest_time)
                        if problem is None and short == "SparkListenerApplicationStart" and accumulator.has_app_start:
                            problem = (f"a second SparkListenerApplicationStart (App ID {event.get('App ID')!r}) in "
                                       f"one application's log; the first one is kept")
                        if problem is not None:
                            outcome.reject(f"{label} line {line_no}: {short or 'event'} rejected: {problem}")
                            continue
                        try:
                            accept(event)
                        except Exception as exc:  # noqa: BLE001  (one event, never the log)
                            outcome.reject(f"{label} line {line_no}: {short or 'event'} could not be folded "
                                           f"({type(exc).__name__}: {exc}); event skipped")
                finally:
                    outcome.lines += line_no
                    # A last line without its newline counts as if it had one.
                    outcome.uncompressed_bytes += size + (bool(line) and not line.endswith(b"\n"))
                    outcome.events += events + skipped
                    accumulator.event_count += skipped
        except TruncatedStreamError as exc:
            outcome.problem(f"{label}: {codec} stream ends mid-block after line {line_no} ({exc}); "
                            f"events before it were kept")
        except EventLogCodecError as exc:
            outcome.problem(f"{label}: cannot decompress as {codec} after line {line_no}: {exc}")
            if outcome.events == 0:
                outcome.fatal = f"{label}: not readable as {codec}: {exc}"
                return
        except OSError as exc:
            outcome.fatal = f"{label}: cannot be read after line {line_no}: {exc}"
            return
        except Exception as exc:  # noqa: BLE001  (a decoder's own error type: this part ends here)
            outcome.problem(f"{label}: reading stopped after line {line_no} ({type(exc).__name__}: {exc})")
            if outcome.events == 0:
                outcome.fatal = f"{label}: not readable as {codec}: {type(exc).__name__}: {exc}"
                return
        if last_bad is not None and last_bad == line_no and outcome.events and outcome.problems:
            # The usual shape of a log still being written or cut: the last line is partial.
            outcome.problems[-1 if len(outcome.problems) <= MAX_REASONS else MAX_REASONS - 1] = (
                f"{label} line {line_no}: last line is cut mid-object (partial write); line skipped"
            )


def _stream_outcome(
    label: str,
    parts: list[tuple[str, Callable[[], Any], str]],
    group: LogGroup,
    ingested_at,
    emit: Emit,
    spark_version_hint: str | None,
) -> _StreamOutcome:
    outcome = _StreamOutcome(label)
    accumulator = AppAccumulator(
        source_path=group.source_path,
        ingested_at=ingested_at,
        fallback_app_id=group.app_id_hint,
        fallback_spark_version=spark_version_hint,
        on_task_row=lambda row: emit(TASKS.name, row if row[_TASK_FAILURE_TEXT] is None else _redacted_task(row, accumulator)),
    )
    outcome.accumulator = accumulator
    if group.size_bytes == 0 and group.kind != "zip_archive":
        outcome.fatal = f"{label}: empty file (0 bytes); nothing to ingest"
        return outcome
    _read_stream(parts, outcome, accumulator)
    if outcome.fatal:
        return outcome
    if outcome.events == 0:
        first = outcome.problems[0].split(": ", 1)[1] if outcome.problems else "no lines"
        outcome.fatal = f"{label}: not a Spark event log: no listener event could be read ({first})"
        outcome.problems = []
    elif not accumulator.has_app_start:
        outcome.fatal = (
            f"{label}: no SparkListenerApplicationStart among {outcome.events} events: a fragment or an "
            f"edited log; the application cannot be identified, nothing ingested"
        )
    elif not accumulator.identified:
        outcome.fatal = f"{label}: SparkListenerApplicationStart has no 'App ID' and the file name holds none"
    return outcome


def _file_parts(group: LogGroup) -> list[tuple[str, Callable[[], Any], str]]:
    return [(p.path, (lambda p=p: open_binary(p.path)), group.codec_of(p)) for p in group.parts]


def _zip_streams(group: LogGroup) -> Iterator[tuple[str, LogGroup, list]]:
    """Each event log inside a zip archive as (label, member group, parts)."""
    archive_path = group.parts[0].path
    handle = open_binary(archive_path)
    archive = zipfile.ZipFile(handle if handle.seekable() else io.BytesIO(handle.read()))
    members = [
        LogFile(f"{archive_path}!/{info.filename}", info.file_size, 0)
        for info in archive.infolist()
        if not info.is_dir()
    ]
    for member_group in group_log_files(members):
        member_names = [p.path.split("!/", 1)[1] for p in member_group.parts]
        parts = [
            (f"{archive_path}!/{name}", (lambda name=name: archive.open(name)), member_group.codec_of(part))
            for name, part in zip(member_names, member_group.parts)
        ]
        yield member_group.source_path, member_group, parts


def parse_group(group: LogGroup, ingested_at, emit: Emit) -> Row:
    """Parse `group`, emitting (table, row) pairs; returns its ingest_log record."""
    started = time.monotonic()
    outcomes: list[_StreamOutcome] = []
    if group.kind == "not_a_log":
        return _record(group, ingested_at, started, "skipped",
                       f"{group.source_path}: skipped by name: a documentation or data file, not an event log",
                       apps=[], complete=False, outcomes=[], rows_written=0)
    if group.kind == "zip_archive":
        try:
            for label, member_group, parts in _zip_streams(group):
                member = _stream_outcome(label, parts, group, ingested_at, emit, member_group.spark_version_hint)
                if member.fatal and member.events == 0:
                    # Junk members (.DS_Store, a pricing json…) are skipped, not failures.
                    member = _StreamOutcome(label, problems=[f"{label}: skipped, not an event log"])
                outcomes.append(member)
        except (zipfile.BadZipFile, OSError) as exc:
            outcomes.append(_StreamOutcome(group.source_path, fatal=f"{group.source_path}: not a readable zip archive: {exc}"))
        if outcomes and not any(o.accumulator for o in outcomes) and not any(o.fatal for o in outcomes):
            outcomes.append(_StreamOutcome(group.source_path, fatal=f"{group.source_path}: zip archive holds no event log"))
    else:
        outcomes.append(_stream_outcome(group.source_path, _file_parts(group), group, ingested_at, emit,
                                        group.spark_version_hint))

    apps: list[dict[str, str]] = []
    rows_written = 0
    reasons: list[str] = []
    failed = False
    impossible = 0
    for outcome in outcomes:
        if outcome.rejected_events:
            reasons.append(f"{outcome.label}: {outcome.rejected_events} event(s) rejected and not stored "
                           f"(impossible values or missing ids, listed below)")
        reasons.extend(outcome.problems)
        if outcome.fatal:
            failed = True
            reasons.append(outcome.fatal)
            continue
        accumulator = outcome.accumulator
        if accumulator is None:
            continue
        apps.append({"app_id": accumulator.app_id, "attempt_id": accumulator.attempt_id or ""})
        if not accumulator.has_app_end:
            reasons.append(f"{outcome.label}: incomplete: no SparkListenerApplicationEnd "
                           f"({'still in progress' if group.in_progress else 'the application was killed or the log cut'})")
        nulled: list[str] = []
        secrets = redaction_rule(accumulator.spark_properties.get("spark.redaction.regex"))
        for table, row in accumulator.table_rows():
            if table == APPLICATIONS.name:
                row["bad_line_count"] = outcome.bad_lines
            redact_row(table, row, secrets)
            nulled.extend(f"{table}.{figure}" for figure in impossible_figures(_SPECS[table], row))
            emit(table, row)
            rows_written += 1
        if nulled:
            shown = ", ".join(nulled[:MAX_REASONS]) + (f" and {len(nulled) - MAX_REASONS} more" if len(nulled) > MAX_REASONS else "")
            reasons.append(f"{outcome.label}: impossible figures stored as null: {shown}")
            impossible += 1
        rows_written += accumulator.totals.task_count
    bad_lines = sum(o.bad_lines for o in outcomes)
    if failed and not apps:
        status = "failed"
    elif failed or bad_lines or impossible or any(o.rejected_events for o in outcomes) or any(
            "reading stopped" in r or "stream ends mid-block" in r or "cannot decompress" in r for r in reasons):
        status = "partial"
    else:
        status = "ingested"
    complete = bool(apps) and all(o.accumulator.has_app_end for o in outcomes if o.accumulator and not o.fatal)
    return _record(group, ingested_at, started, status, "; ".join(reasons) or None, apps, complete, outcomes,
                   rows_written if apps else 0)


def failed_record(group: LogGroup, ingested_at, what: str) -> Row:
    """The ingest-log record of a group whose parsing or conversion broke off: nothing of it is stored."""
    return _record(group, ingested_at, time.monotonic(), "failed",
                   f"{group.source_path}: {what}; nothing from this log was stored", apps=[], complete=False,
                   outcomes=[], rows_written=0)


def ingest_log_row(**values) -> Row:
    """An ingest_log row: the table's columns, null unless given, stamped with this parser's version."""
    unknown = sorted(set(values) - set(INGEST_LOG.column_names))
    if unknown:
        raise TypeError(f"ingest_log has no column(s) {unknown}; its columns are {INGEST_LOG.column_names}")
    return {**dict.fromkeys(INGEST_LOG.column_names), "parser_version": PARSER_VERSION, **values}


def _record(group: LogGroup, ingested_at, started: float, status: str, reason: str | None, apps: list[dict[str, str]],
            complete: bool, outcomes: list[_StreamOutcome], rows_written: int) -> Row:
    return ingest_log_row(
        source_path=group.source_path,
        source_kind=group.kind,
        codec=group.codec_of(group.parts[0]) if group.parts else "none",
        file_count=len(group.parts),
        size_bytes=group.size_bytes,
        modification_time=from_epoch_ms(group.modification_time_ms),
        fingerprint=group.fingerprint,
        status=status,
        reason=reason,
        attempts=apps,
        complete=complete,
        line_count=sum(o.lines for o in outcomes),
        bad_line_count=sum(o.bad_lines for o in outcomes),
        uncompressed_bytes=sum(o.uncompressed_bytes for o in outcomes),
        rows_written=rows_written,
        parse_duration_ms=int((time.monotonic() - started) * 1000),
        parsed_by=worker_identity(),
        ingested_at=ingested_at,
    )
