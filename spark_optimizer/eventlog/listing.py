"""Every file under an event-log root, and every folder that could not be listed.

Local folders are walked with the operating system's own calls: file names come back exactly as
stored (a newline or a '%' in a name stays itself), a folder reached twice through symbolic links
(a loop) is listed once, and an unreadable folder is reported instead of aborting the listing.
Other file systems (s3a://, gs://, abfss://, dbfs:/) are walked through Hadoop's FileSystem, one
folder at a time, with the same per-folder reporting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pyspark import SparkContext
from pyspark.sql import SparkSession

from spark_optimizer.errors import EventLogNotFoundError
from spark_optimizer.eventlog.discovery import LogFile
from spark_optimizer.eventlog.storage import local_path


@dataclass
class Listing:
    files: list[LogFile] = field(default_factory=list)
    # (folder, why it could not be listed)
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def spark_context_of(spark: SparkSession | SparkContext) -> SparkContext:
    return spark if isinstance(spark, SparkContext) else spark.sparkContext


def list_log_files(spark: SparkSession | SparkContext, root: str) -> Listing:
    path = local_path(root)
    if path is not None:
        return _list_local(path, root)
    return _list_hadoop(spark, root)


def _list_local(path: str, root: str) -> Listing:
    if not os.path.lexists(path):
        raise EventLogNotFoundError(f"event-log path {root} does not exist; pass the folder (or file) that holds the logs")
    listing = Listing()
    if not os.path.isdir(path):
        _add_local_file(listing, path)
        return listing
    seen: set[tuple[int, int]] = set()
    pending = [path.rstrip("/") or "/"]
    while pending:
        folder = pending.pop()
        try:
            identity = os.stat(folder)
            if (identity.st_dev, identity.st_ino) in seen:
                continue  # a symbolic link back to a folder already listed
            seen.add((identity.st_dev, identity.st_ino))
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            listing.unreadable.append((folder, f"cannot be listed: {exc.strerror or exc}"))
            continue
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError as exc:
                listing.unreadable.append((entry.path, f"cannot be read: {exc.strerror or exc}"))
                continue
            if is_dir:
                pending.append(entry.path)
            else:
                _add_local_file(listing, entry.path)
    return listing


def _add_local_file(listing: Listing, path: str) -> None:
    try:
        status = os.stat(path)
    except OSError as exc:  # a dangling link, a file removed while listing
        listing.unreadable.append((path, f"cannot be read: {exc.strerror or exc}"))
        return
    # Milliseconds, truncated, as Hadoop's local FileSystem reports them (fingerprints stay stable).
    listing.files.append(LogFile(path, int(status.st_size), status.st_mtime_ns // 1_000_000))


def _list_hadoop(spark: SparkSession | SparkContext, root: str) -> Listing:
    context = spark_context_of(spark)
    jvm = context._jvm  # type: ignore[union-attr]
    hadoop_path = jvm.org.apache.hadoop.fs.Path(root)
    fs = hadoop_path.getFileSystem(context._jsc.hadoopConfiguration())  # type: ignore[union-attr]
    if not fs.exists(hadoop_path):
        raise EventLogNotFoundError(f"event-log path {root} does not exist; pass the folder (or file) that holds the logs")
    listing = Listing()
    pending = [fs.getFileStatus(hadoop_path)]
    while pending:
        status = pending.pop()
        uri = status.getPath().toString()
        if status.isFile():
            listing.files.append(LogFile(_normalize(status.getPath()), int(status.getLen()), int(status.getModificationTime())))
            continue
        if status.isSymlink():
            continue  # object stores have none; elsewhere a link may loop
        try:
            children = list(fs.listStatus(status.getPath()))
        except Exception as exc:  # noqa: BLE001  (Py4J carries the Java IOException)
            listing.unreadable.append((uri, f"cannot be listed: {_java_message(exc)}"))
            continue
        pending.extend(sorted(children, key=lambda s: s.getPath().getName(), reverse=True))
    return listing


def _normalize(hadoop_path) -> str:
    uri = hadoop_path.toUri()
    if uri.getScheme() in (None, "file"):
        return uri.getPath()  # decoded: no %-escapes in local names
    return hadoop_path.toString()


def _java_message(exc: Exception) -> str:
    java = getattr(exc, "java_exception", None)
    return str(java.toString()) if java is not None else f"{type(exc).__name__}: {exc}"
