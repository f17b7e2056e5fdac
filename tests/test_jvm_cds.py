"""Class-data sharing for the local driver JVM: write an archive once, map it afterwards, never
let a bad archive stop Spark from starting."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spark_optimizer.jvm_cds import archive_path, cache_folder, driver_cds_options, java_binary

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def environ(tmp_path):
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "JAVA_HOME")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return env


def test_the_first_session_writes_an_archive_at_exit_and_a_finished_one_is_mapped(environ):
    options, archive = driver_cds_options("4.0.5", environ)
    assert archive is None and "-XX:ArchiveClassesAtExit=" in options and "-Xlog:cds=off" in options
    temp = Path(options.split("-XX:ArchiveClassesAtExit=")[1].split()[0])
    assert temp.parent == cache_folder(environ) and temp.name.endswith(f".{os.getpid()}.tmp")

    temp.write_bytes(b"archive")  # its JVM has exited: no process has the path on its command line
    options, archive = driver_cds_options("4.0.5", environ)
    assert archive == archive_path(cache_folder(environ), "4.0.5", java_binary(environ))
    assert archive.read_bytes() == b"archive" and not temp.exists()
    assert options.startswith(f"-XX:SharedArchiveFile={archive} ")


def test_an_archive_still_being_written_is_neither_mapped_nor_written_again(environ):
    options, _ = driver_cds_options("4.0.5", environ)
    temp = Path(options.split("-XX:ArchiveClassesAtExit=")[1].split()[0])
    temp.write_bytes(b"half")
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(temp)])
    # Right after a (v)fork the child's /proc command line can still read empty.
    deadline = time.monotonic() + 10
    while str(temp).encode() not in Path(f"/proc/{writer.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        assert driver_cds_options("4.0.5", environ) == (None, None)
    finally:
        writer.kill()
        writer.wait()
    assert driver_cds_options("4.0.5", environ)[1] is not None  # promoted once the writer is gone


def test_archives_are_per_pyspark_version_and_cds_can_be_turned_off(environ):
    folder, java = cache_folder(environ), java_binary(environ)
    assert archive_path(folder, "4.0.5", java) != archive_path(folder, "3.5.3", java)
    assert driver_cds_options("4.0.5", {**environ, "SPARK_OPTIMIZER_JVM_CDS": "0"}) == (None, None)


def test_spark_starts_with_a_damaged_archive(environ, tmp_path):
    import pyspark

    archive = archive_path(cache_folder(environ), pyspark.__version__, java_binary(environ))
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"\0" * 4096)  # not an archive at all: the JVM ignores it
    script = "from spark_optimizer.session import get_or_create_spark; print(get_or_create_spark().range(3).count())"
    env = {**os.environ, **environ, "PYTHONPATH": str(REPO), "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("PYSPARK_GATEWAY_PORT", None)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "3"


def test_an_archive_the_jvm_dies_on_is_deleted_and_the_session_starts_without_it(environ, monkeypatch):
    """A truncated archive crashes the JVM at start (SIGBUS while mapping it): simulated here."""
    from types import SimpleNamespace

    import pyspark
    from pyspark.sql import SparkSession

    from spark_optimizer import session as session_module

    archive = archive_path(cache_folder(environ), pyspark.__version__, java_binary(environ))
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"truncated")
    for key in ("PYSPARK_GATEWAY_PORT", "PYSPARK_SUBMIT_ARGS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", environ["XDG_CACHE_HOME"])
    monkeypatch.setattr(SparkSession, "getActiveSession", classmethod(lambda cls: None))
    java_options = []

    def start_context(conf):
        java_options.append(conf.get(session_module.JAVA_OPTIONS_KEY, ""))
        if "SharedArchiveFile" in java_options[-1]:
            raise RuntimeError("[JAVA_GATEWAY_EXITED] Java gateway process exited before sending its port number.")
        return SimpleNamespace(setLogLevel=lambda level: None)

    monkeypatch.setattr(session_module, "SparkContext", type("FakeContext", (), {
        "_active_spark_context": None, "__new__": lambda cls, conf: start_context(conf)}))
    session_module.get_or_create_spark_context("local[1]", "cds-test")
    assert len(java_options) == 2 and "SharedArchiveFile" in java_options[0]
    assert "SharedArchiveFile" not in java_options[1] and not archive.exists()
