"""Opening event-log files from where they live: local paths here, Hadoop-FS URIs on clusters."""

from __future__ import annotations

import os
from typing import BinaryIO
from urllib.parse import urlparse

from spark_optimizer.errors import EventLogError


def local_path(uri: str) -> str | None:
    """The local file-system path of `uri`, or None when it is on remote storage."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return parsed.path if parsed.scheme else uri
    if parsed.scheme == "dbfs" and os.path.isdir("/dbfs"):  # Databricks' FUSE mount
        return "/dbfs" + parsed.path
    return None


def open_binary(uri: str) -> BinaryIO:
    """Open a file for streaming reads, on the driver or inside an executor's Python worker."""
    path = local_path(uri)
    if path is not None:
        return open(path, "rb", buffering=1 << 20)  # event-log lines run to kilobytes
    try:
        import fsspec  # optional: s3fs / gcsfs / adlfs give executors remote storage
    except ImportError:
        raise EventLogError(
            f"{uri}: reading {urlparse(uri).scheme}:// paths inside Spark tasks needs fsspec and its "
            f"file-system package on the executors: pip install 'spark-optimizer[remote]' (fsspec, s3fs; add gcsfs or adlfs for gs:// or abfss://)"
        ) from None
    scheme = urlparse(uri).scheme
    normalized = "s3://" + uri.split("://", 1)[1] if scheme in ("s3a", "s3n") else uri
    return fsspec.open(normalized, "rb").open()
