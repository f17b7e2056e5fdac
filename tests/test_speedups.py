"""The local-session speed-ups (quick JIT, class-data sharing, the worker daemon) are one setting
away from Spark's own path, apply only to the releases they were tested with, and never change
what ingestion writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from deltalake import DeltaTable

from spark_optimizer.jvm_cds import driver_cds_options, java_feature_version
from spark_optimizer.pyspark_daemon import is_tested_pyspark
from spark_optimizer.session import SPEEDUPS_ENV, speedups_enabled
from spark_optimizer.tables import EVENT_LOG_TABLES, INGEST_LOG
from tests.conftest import cache_with_this_sessions_class_archives

REPO = Path(__file__).resolve().parents[1]
# Columns that record when and how fast a run went, not what it read.
RUN_COLUMNS = {"ingested_at", "parse_duration_ms"}

SESSION_PROBE = """
import json
from spark_optimizer.context import AppContext
from spark_optimizer.config import load_settings
sc = AppContext(load_settings()).spark_context
jvm_args = list(sc._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
print(json.dumps({"daemon": sc.getConf().get("spark.python.daemon.module", None), "jvm_args": jvm_args}))
sc.stop()
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != SPEEDUPS_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return {**env, **extra}


def _probe(env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-c", SESSION_PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_one_setting_turns_every_speedup_off(tmp_path):
    env = _env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    on = _probe(env)
    assert on["daemon"] == "spark_optimizer.pyspark_daemon"
    assert "-XX:TieredStopAtLevel=1" in on["jvm_args"]
    assert any(a.startswith("-XX:ArchiveClassesAtExit=") for a in on["jvm_args"])

    off = _probe({**env, SPEEDUPS_ENV: "off"})
    assert off["daemon"] is None
    assert not [a for a in off["jvm_args"] if a.startswith(("-XX:TieredStopAtLevel", "-XX:ArchiveClassesAtExit",
                                                            "-XX:SharedArchiveFile", "-Xlog:cds"))]


def test_the_setting_reads_like_every_boolean_setting():
    assert speedups_enabled({}) and speedups_enabled({SPEEDUPS_ENV: "true"})
    assert not any(speedups_enabled({SPEEDUPS_ENV: v}) for v in ("off", "0", "false", "no", "OFF"))


def test_speedups_apply_only_to_the_releases_they_were_tested_with(tmp_path):
    assert is_tested_pyspark("4.0.5") and is_tested_pyspark("3.5.8") and is_tested_pyspark("4.3.0")
    assert not is_tested_pyspark("3.4.4") and not is_tested_pyspark("4.4.0")
    env = {"PATH": os.environ["PATH"], "XDG_CACHE_HOME": str(tmp_path)}
    assert driver_cds_options("4.4.0", env) == (None, None)


@pytest.mark.parametrize("release, feature", [('JAVA_VERSION="17.0.15"', 17), ('JAVA_VERSION="1.8.0_392"', 8),
                                              ('JAVA_VERSION="11"', 11), ("IMPLEMENTOR=x", None)])
def test_the_java_release_is_read_from_the_java_home(tmp_path, release, feature):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").write_text("")
    (tmp_path / "release").write_text(f"IMPLEMENTOR=\"x\"\n{release}\n")
    assert java_feature_version(tmp_path / "bin" / "java") == feature


def test_java_releases_not_tested_get_no_class_data_sharing_options(tmp_path):
    home = tmp_path / "jdk11"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("")
    (home / "release").write_text('JAVA_VERSION="11.0.22"\n')
    assert driver_cds_options("4.0.5", {"JAVA_HOME": str(home), "XDG_CACHE_HOME": str(tmp_path)}) == (None, None)


def _collect(warehouse: Path, env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "spark_optimizer.cli", "collect", "--event-log-dir",
                           str(REPO / "samples" / "eventlogs"), "--warehouse", str(warehouse)],
                          env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def _rows(warehouse: Path, name: str) -> list[str]:
    table = DeltaTable(str(warehouse / name)).to_pyarrow_table()
    table = table.drop_columns([c for c in table.column_names if c in RUN_COLUMNS])
    return sorted(json.dumps(row, sort_keys=True, default=str) for row in table.to_pylist())


def test_ingestion_writes_identical_tables_with_the_speedups_off(tmp_path):
    env = _env(XDG_CACHE_HOME=cache_with_this_sessions_class_archives(tmp_path / "cache"))
    _collect(tmp_path / "on", env)
    _collect(tmp_path / "off", {**env, SPEEDUPS_ENV: "off"})
    for spec in (*EVENT_LOG_TABLES, INGEST_LOG):
        on, off = _rows(tmp_path / "on", spec.name), _rows(tmp_path / "off", spec.name)
        assert on, f"{spec.name} is empty"
        assert on == off, spec.name
