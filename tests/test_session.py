"""The local session helper: what the driver JVM it launches is started with."""

from __future__ import annotations

import pytest

from spark_optimizer.session import DRIVER_JIT_ENV, quick_jit_options


def _jvm_arguments(spark) -> list[str]:
    return list(spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())


def test_a_local_driver_jvm_runs_with_the_quick_jit_tier_by_default(spark):
    assert "-XX:TieredStopAtLevel=1" in _jvm_arguments(spark)


def test_the_full_jit_is_one_environment_variable_away():
    assert quick_jit_options({DRIVER_JIT_ENV: "full"}) == ""
    assert quick_jit_options({DRIVER_JIT_ENV: "QUICK"}) == "-XX:TieredStopAtLevel=1"
    assert quick_jit_options({}) == "-XX:TieredStopAtLevel=1"


def test_an_unknown_jit_setting_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="SPARK_OPTIMIZER_DRIVER_JIT='c2'.*'quick'.*'full'"):
        quick_jit_options({DRIVER_JIT_ENV: "c2"})


def _pyspark_file(_partition):
    import pyspark

    yield pyspark.__file__


def test_local_python_workers_run_the_installed_byte_compiled_pyspark_not_the_zip(spark):
    """Spark puts pyspark.zip first on the workers' path, where nothing can be cached compiled;
    local sessions start the worker daemon through spark_optimizer.pyspark_daemon instead."""
    assert spark.sparkContext.getConf().get("spark.python.daemon.module") == "spark_optimizer.pyspark_daemon"
    [worker_pyspark] = spark.sparkContext.parallelize([0], 1).mapPartitions(_pyspark_file).collect()
    assert "pyspark.zip" not in worker_pyspark and worker_pyspark.endswith("__init__.py")


def _worker_state(_partition):
    import gc
    import sys

    yield list(sys.path), gc.get_freeze_count(), "spark_optimizer.eventlog.task_output" in sys.modules


def test_local_python_workers_have_no_spark_archive_on_their_path_and_start_with_the_parser_preloaded_and_frozen(spark):
    """Every task calls importlib.invalidate_caches(), which rereads each zip on the path
    (spark-core's jar: 5,000 entries), and the daemon runs gc.collect() after every task."""
    [(path, frozen, has_parser)] = spark.sparkContext.parallelize([0], 1).mapPartitions(_worker_state).collect()
    assert not [p for p in path if p.endswith((".jar", "pyspark.zip")) or "py4j-" in p]
    assert frozen > 0 and has_parser


def test_the_parser_a_worker_preloads_needs_neither_pyarrow_nor_pandas():
    """pyarrow imports pandas on its first array: ~0.3 s before a worker daemon's first fork."""
    import subprocess
    import sys

    script = ("import sys, spark_optimizer.eventlog.task_output; "
              "print(sorted(m for m in ('pyarrow', 'pandas', 'pyspark.sql') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_daemon_drops_exactly_sparks_own_archives():
    from spark_optimizer.pyspark_daemon import installed_first, without_spark_archives

    path = ["/spark/python/lib/pyspark.zip", "/spark/python/lib/py4j-0.10.9.9-src.zip", "/work",
            "/spark/jars/spark-core_2.13-4.0.5.jar", "/venv/site-packages", "/files/deps.zip"]
    assert without_spark_archives(path) == ["/work", "/venv/site-packages", "/files/deps.zip"]
    assert installed_first(path) == ["/work", "/venv/site-packages", "/files/deps.zip", "/spark/python/lib/pyspark.zip",
                                     "/spark/python/lib/py4j-0.10.9.9-src.zip", "/spark/jars/spark-core_2.13-4.0.5.jar"]


def _connected_tcp_pair():
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
    return client, accepted


def test_a_worker_reads_its_task_unchanged_through_the_acknowledging_input():
    import os
    import pickle

    from spark_optimizer.pyspark_daemon import AcknowledgingInput

    sender, receiver = _connected_tcp_pair()
    with sender, receiver:
        payload = pickle.dumps({"command": list(range(1000))}) + b"line two\n" + bytes(range(256))
        sender.sendall(payload)
        stream = os.fdopen(os.dup(receiver.fileno()), "rb", 65536)
        reader = AcknowledgingInput(stream)
        assert pickle.load(reader) == {"command": list(range(1000))}
        assert reader.readline() == b"line two\n"
        buffer = bytearray(256)
        assert reader.readinto(buffer) == 256 and bytes(buffer) == bytes(range(256))
        assert reader.fileno() == stream.fileno()
        reader.close_socket()
        stream.close()


def test_the_acknowledging_input_reads_a_non_tcp_stream_without_acknowledging():
    import os
    import socket

    from spark_optimizer.pyspark_daemon import AcknowledgingInput

    left, right = socket.socketpair()  # a Unix socket: no delayed acknowledgement to avoid
    with left, right:
        left.sendall(b"\x00\x00\x00\x07")
        reader = AcknowledgingInput(os.fdopen(os.dup(right.fileno()), "rb"))
        assert reader.read(4) == b"\x00\x00\x00\x07"
        assert reader._socket is None


def test_a_worker_whose_input_is_not_a_socket_reads_it_directly():
    import os

    from spark_optimizer.pyspark_daemon import acknowledging

    read_end, write_end = os.pipe()
    os.write(write_end, b"task")
    os.close(write_end)
    seen = []
    with os.fdopen(read_end, "rb") as stream:
        acknowledging(lambda infile, outfile: seen.append((infile, infile.read())))(stream, None)
    assert seen == [(stream, b"task")]


# The one line no log4j2 configuration reaches: the JVM itself warns about the incubator module
# that Spark 4's launcher always adds (--add-modules=jdk.incubator.vector).
JVM_MODULE_WARNING = "WARNING: Using incubator modules"
# Spark's notices written straight to stderr, and any line in its log4j2 layout ("26/12/07 01:12:46 WARN Utils: ...").
SPARK_NOTICES = ("Using Spark's default log4j profile", "Setting default log level", "To adjust logging level",
                 "Setting Spark log level")
LOG4J_LINE = r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) "


def spark_lines(stderr_lines: list[str]) -> list[str]:
    import re

    return [line for line in stderr_lines if line.startswith(SPARK_NOTICES) or re.match(LOG4J_LINE, line)]


def _collect_one_log(tmp_path, name: str, *options: str):
    """`spark-optimizer [options] collect` over one real log, in its own process (its own driver JVM)."""
    import os
    import shutil
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    logs = tmp_path / f"{name}-logs"
    logs.mkdir()
    shutil.copy(REPO_ROOT / "samples" / "eventlogs" / "local-1795476283857.zstd", logs)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO_ROOT), os.environ.get("PYTHONPATH"))))}
    done = subprocess.run([sys.executable, "-m", "spark_optimizer.cli", *options, "collect", "--event-log-dir", str(logs),
                           "--warehouse", str(tmp_path / f"{name}-wh")], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ingested 1" in done.stdout
    return [line for line in done.stderr.splitlines() if not line.startswith(JVM_MODULE_WARNING)]


def test_a_command_prints_no_spark_start_up_lines_unless_verbose(tmp_path):
    assert spark_lines(_collect_one_log(tmp_path, "quiet")) == []
    verbose = spark_lines(_collect_one_log(tmp_path, "verbose", "--verbose"))
    assert any(line.startswith("Using Spark's default log4j profile") for line in verbose), verbose  # Spark's own defaults
