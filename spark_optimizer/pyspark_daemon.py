"""PySpark's Python worker daemon for the local sessions we build, without three fixed costs
that PySpark 4.0's workers carry on every start or task (a trivial task here: 73 ms per core
before, 10 ms after; plain PySpark 139 ms).

Spark puts `pyspark.zip` and Py4J's zip first on the workers' PYTHONPATH and spark-core's jar
(37 MB, no Python in it) after them:
- Python cannot cache compiled modules for a zip, so the daemon compiled PySpark's worker
  modules from source on every start (0.6 s of CPU here, 0.25 s from the installed package);
- every task calls `importlib.invalidate_caches()` (PySpark's `setup_spark_files`), which makes
  every zip importer on the path read its archive's directory again: ~70 ms per task for
  spark-core's 5,000 entries.
This module takes those archives off the path (or, if the installed pyspark and py4j cannot be
imported without them, moves them behind the installed packages). It also imports what the
workers will need once, before the daemon forks them, and freezes those objects out of the full
`gc.collect()` the daemon runs after every task (~30 ms with pandas and pyarrow loaded, ~1 ms
frozen); and it makes each worker acknowledge what it reads at once (`AcknowledgingInput`: a
40 ms stall per task otherwise). `session.get_or_create_spark_context` points
`spark.python.daemon.module` here when the installed pyspark and the zips are the same PySpark
(a pip-installed pyspark, SPARK_HOME unset or its folder), the PySpark version is one of
TESTED_PYSPARK and the workers run the driver's interpreter; it then runs `pyspark.daemon` as Spark
would have. Any failure while preparing falls back to Spark's own daemon unchanged;
SPARK_OPTIMIZER_SPARK_SPEEDUPS=off (session.SPEEDUPS_ENV) does not use this module at all.
"""

from __future__ import annotations

import gc
import importlib
import os
import runpy
import socket
import sys

# Imported once in the daemon instead of in every forked worker: the event-log parser and its
# Arrow writer are what our Python tasks run. Not pyarrow and pandas (~0.3 s, serial, before the
# first fork): the parser does not need them, and the tasks that do import them on first use.
WORKER_IMPORTS = ("spark_optimizer.eventlog.task_output",)
# PySpark releases (major.minor) the local speed-ups (this daemon, jvm_cds) were run with: the suite on 4.0
# and 4.3, the ingestion tests on 3.5 (docs/deployment.md). Other releases get Spark's own path.
TESTED_PYSPARK = ("3.5", "4.0", "4.3")


def is_tested_pyspark(pyspark_version: str) -> bool:
    return ".".join(pyspark_version.split(".")[:2]) in TESTED_PYSPARK


def is_spark_archive(entry: str) -> bool:
    """PySpark's and Py4J's zips, and spark-core's jar, which Spark adds to the workers' path."""
    name = os.path.basename(entry)
    return (name == "pyspark.zip" or (name.startswith("py4j-") and name.endswith(".zip"))
            or (name.startswith("spark-core_") and name.endswith(".jar")))


def without_spark_archives(path: list[str]) -> list[str]:
    return [p for p in path if not is_spark_archive(p)]


def installed_first(path: list[str]) -> list[str]:
    """`path` with Spark's archives moved to the end."""
    return without_spark_archives(path) + [p for p in path if is_spark_archive(p)]


def prepare_worker_path() -> None:
    """Drop Spark's archives from sys.path and their importers from the importer cache, so no
    task rereads them; keep them, at the end, if the installed pyspark or py4j cannot be
    imported without them."""
    original = list(sys.path)
    dropped = [p for p in original if is_spark_archive(p)]
    sys.path[:] = without_spark_archives(original)
    for entry in [e for e in sys.path_importer_cache if any(e.startswith(d) for d in dropped)]:
        del sys.path_importer_cache[entry]
    try:
        importlib.import_module("pyspark")
        importlib.import_module("py4j")
    except ImportError:
        sys.path[:] = installed_first(original)


def preload_worker_modules(modules: tuple[str, ...] = WORKER_IMPORTS) -> None:
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:  # a worker that needs it reports the error in its task
            continue
    gc.freeze()


class AcknowledgingInput:
    """A worker's input stream that acknowledges each read at once (TCP_QUICKACK).

    The executor JVM writes a task's command and then, separately, the small end of its input;
    with Nagle's algorithm on the JVM's side, that second write waits for the worker's
    acknowledgement of the first, which Linux delays by 40 ms: 40 ms of every task spent idle.
    Other methods are the stream's own."""

    def __init__(self, stream):
        self._stream = stream
        descriptor = os.dup(stream.fileno())
        try:
            self._socket: socket.socket | None = socket.socket(fileno=descriptor)
        except OSError:  # not a socket
            os.close(descriptor)
            raise

    def _acknowledge(self) -> None:
        if self._socket is not None:
            try:
                self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            except OSError:  # not a TCP socket: nothing is delayed
                self.close_socket()

    def read(self, *args):
        data = self._stream.read(*args)
        self._acknowledge()
        return data

    def readinto(self, buffer):
        count = self._stream.readinto(buffer)
        self._acknowledge()
        return count

    def readline(self, *args):
        line = self._stream.readline(*args)
        self._acknowledge()
        return line

    def close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __getattr__(self, name):
        return getattr(self._stream, name)


def acknowledging(worker_main):
    """`worker_main` reading its task through AcknowledgingInput (where TCP_QUICKACK exists)."""
    if not hasattr(socket, "TCP_QUICKACK"):
        return worker_main

    def main(infile, outfile):
        try:
            stream = AcknowledgingInput(infile)
        except OSError:
            return worker_main(infile, outfile)
        try:
            return worker_main(stream, outfile)
        finally:
            stream.close_socket()

    return main


def prepare_daemon() -> None:
    """Everything above, or nothing: on any failure the path is restored and Spark's daemon runs as is."""
    original = list(sys.path)
    try:
        prepare_worker_path()
        preload_worker_modules()
        import pyspark.worker

        # pyspark.daemon takes `main` from pyspark.worker when it starts.
        pyspark.worker.main = acknowledging(pyspark.worker.main)
    except Exception as error:  # noqa: BLE001 - any failure means Spark's own path
        sys.path[:] = original
        gc.unfreeze()
        print(f"spark_optimizer.pyspark_daemon: {error!r}; running Spark's own worker daemon", file=sys.stderr)


if __name__ == "__main__":
    prepare_daemon()
    runpy.run_module("pyspark.daemon", run_name="__main__", alter_sys=True)
