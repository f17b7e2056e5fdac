"""Which files make up which event log: single files, rolling folders, Databricks rolled sets,
Spark <= 1.2 folders and History Server zip downloads. Pure functions over file listings."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Iterable

from spark_optimizer.eventlog.codecs import codec_for_name

INPROGRESS = ".inprogress"
_ROLLING_PART = re.compile(r"^events_(\d+)_")
_DATABRICKS_PART = re.compile(r"^eventlog-(\d{4}-\d{2}-\d{2}--\d{2}-\d{2})(\.[a-z0-9]+)?$")
_LEGACY_PART = re.compile(r"^EVENT_LOG_(\d+)$")
_LEGACY_MARKERS = ("SPARK_VERSION_", "APPLICATION_COMPLETE", "COMPRESSION_CODEC_")
_APP_ID = re.compile(r"(application_\d+_\d+|app-\d{14}-\d{4}|local-\d{13}|spark-[0-9a-f]{32})")
# Documentation and data files that sit beside logs; recorded as skipped, never parsed.
_NOT_A_LOG = re.compile(r"^(readme|license|notice|manifest)(\..*)?$|\.(md|rst|tsv|csv|html|py|sh)$", re.I)
_LEGACY_CODECS = {"lzf": "lzf", "snappy": "snappy", "lz4": "lz4", "zstd": "zstd"}


@dataclass(frozen=True)
class LogFile:
    path: str
    size_bytes: int
    modification_time_ms: int

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


@dataclass(frozen=True)
class LogGroup:
    """One event log as stored: the files to read, in order, as one event stream."""

    source_path: str
    kind: str  # single_file | rolling_dir | databricks_rolled | legacy_dir | zip_archive | not_a_log
    parts: tuple[LogFile, ...]
    in_progress: bool = False
    spark_version_hint: str | None = None
    codec_hint: str | None = None

    @property
    def size_bytes(self) -> int:
        return sum(p.size_bytes for p in self.parts)

    @property
    def modification_time_ms(self) -> int:
        return max((p.modification_time_ms for p in self.parts), default=0)

    @property
    def fingerprint(self) -> str:
        """Changes whenever a part is added, renamed, grows or is rewritten."""
        return ";".join(f"{p.name}:{p.size_bytes}:{p.modification_time_ms}" for p in self.parts)

    @property
    def app_id_hint(self) -> str | None:
        match = _APP_ID.search(posixpath.basename(self.source_path.rstrip("/")))
        return match.group(1) if match else None

    def codec_of(self, part: LogFile) -> str:
        return self.codec_hint or codec_for_name(part.name)


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name.endswith(".crc") or name.startswith("_")


def group_log_files(files: Iterable[LogFile]) -> list[LogGroup]:
    """Group a recursive listing into event logs; order of the result follows the paths."""
    by_dir: dict[str, list[LogFile]] = {}
    for file in files:
        if _is_hidden(file.name) or "/__MACOSX/" in "/" + file.path:
            continue
        by_dir.setdefault(posixpath.dirname(file.path), []).append(file)
    groups: list[LogGroup] = []
    for directory, members in sorted(by_dir.items()):
        groups.extend(_group_directory(directory, sorted(members, key=lambda f: f.name)))
    return sorted(groups, key=lambda g: g.source_path)


def _group_directory(directory: str, members: list[LogFile]) -> list[LogGroup]:
    dir_name = posixpath.basename(directory)
    if dir_name.startswith("eventlog_v2_"):
        return [_rolling_group(directory, members)]
    if any(_LEGACY_PART.match(m.name) for m in members):
        return [_legacy_group(directory, members)]
    groups: list[LogGroup] = []
    databricks = [m for m in members if m.name == "eventlog" or _DATABRICKS_PART.match(m.name)]
    if databricks and any(_DATABRICKS_PART.match(m.name) for m in databricks):
        dated = sorted((m for m in databricks if m.name != "eventlog"), key=lambda m: _DATABRICKS_PART.match(m.name).group(1))
        current = [m for m in databricks if m.name == "eventlog"]
        groups.append(LogGroup(directory, "databricks_rolled", tuple(dated + current)))
        members = [m for m in members if m not in databricks]
    names = {m.name for m in members}
    for member in members:
        if member.name.startswith("appstatus_"):
            continue
        if member.name.endswith(INPROGRESS) and member.name[: -len(INPROGRESS)] in names:
            continue  # a stale copy beside the finished log (the finished one always wins)
        if _NOT_A_LOG.search(member.name):
            groups.append(LogGroup(member.path, "not_a_log", (member,)))
            continue
        if member.name.lower().endswith(".zip"):
            groups.append(LogGroup(member.path, "zip_archive", (member,)))
            continue
        in_progress = member.name.endswith(INPROGRESS)
        source = member.path[: -len(INPROGRESS)] if in_progress else member.path
        groups.append(LogGroup(source, "single_file", (member,), in_progress=in_progress))
    return groups


def _rolling_group(directory: str, members: list[LogFile]) -> LogGroup:
    parts = sorted(
        (m for m in members if _ROLLING_PART.match(m.name)),
        key=lambda m: int(_ROLLING_PART.match(m.name).group(1)),
    )
    status = [m for m in members if m.name.startswith("appstatus_")]
    # Spark renames appstatus_<id>.inprogress to appstatus_<id> when the application ends.
    in_progress = not status or any(m.name.endswith(INPROGRESS) for m in status)
    return LogGroup(directory, "rolling_dir", tuple(parts), in_progress=in_progress)


def _legacy_group(directory: str, members: list[LogFile]) -> LogGroup:
    parts = sorted((m for m in members if _LEGACY_PART.match(m.name)), key=lambda m: int(_LEGACY_PART.match(m.name).group(1)))
    version = next((m.name[len("SPARK_VERSION_"):] for m in members if m.name.startswith("SPARK_VERSION_")), None)
    codec_marker = next((m.name[len("COMPRESSION_CODEC_"):] for m in members if m.name.startswith("COMPRESSION_CODEC_")), None)
    codec = None
    if codec_marker:
        lowered = codec_marker.lower()
        codec = next((c for key, c in _LEGACY_CODECS.items() if key in lowered), None)
    complete = any(m.name == "APPLICATION_COMPLETE" for m in members)
    return LogGroup(directory, "legacy_dir", tuple(parts), in_progress=not complete,
                    spark_version_hint=version, codec_hint=codec or "none")
