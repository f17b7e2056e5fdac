"""The corpus's output files: runs.csv (one row per run, appended and fsynced row by row) and
README.md (how the corpus was made, its licence, the columns)."""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.workloads.datasets import SCALES
from benchmarks.workloads.grid import CONFIGS_PER_SCALE, DEFAULTS_LIKE, FULL_GRID, GRID_LEVELS, MAX_CONFIGS
from benchmarks.workloads.queries import WORKLOADS

COLUMNS: dict[str, str] = {
    "run_id": "<workload>.<scale>.<config_id>.r<repeat>; also the app's spark.optimizer.corpus.run_id",
    "config_id": "e<executors>c<cores>m<executor MB>p<shuffle partitions>-aqe|noaqe; shared by a configuration's repeats",
    "workload": "workload name, also the application's spark.app.name",
    "scale": "input scale name (tiny, small, medium, large)",
    "input_bytes": "bytes on disk of the Parquet files the workload reads",
    "input_rows": "rows in the datasets the workload reads",
    "executors": "executor JVMs (the E of local-cluster[E,C,MB]; spark.executor.instances)",
    "executor_cores": "cores per executor (spark.executor.cores)",
    "executor_memory_mb": "executor heap (spark.executor.memory)",
    "shuffle_partitions": "spark.sql.shuffle.partitions",
    "aqe": "spark.sql.adaptive.enabled (true/false)",
    "repeat": "1..repeats",
    "app_id": "Spark application id (the event log is eventlogs/<app_id>.zstd)",
    "wall_ms": "driver-measured time around the workload's actions (empty when failed)",
    "app_wall_ms": "driver-measured time from SparkContext creation to stop() returning",
    "status": "ok or failed",
    "failure_reason": "why a run failed (first line of the error), empty when ok",
    "started_at": "UTC time the run started (ISO 8601)",
    "startup_ms": "SparkContext creation until every executor had registered",
    "cpu_ms": "CPU time of the driver JVM from SparkContext creation to stop, plus the executor JVMs' from their start to the end of the workload (much less sensitive than wall time to other load on the host)",
    "executors_registered": "executors registered before the first job",
    "load_1m": "host 1-minute load average when the run ended (other processes show up here)",
    "event_log": "event log path relative to the corpus folder",
    "event_log_bytes": "compressed size of the event log",
    "driver_run_index": "n-th measured application of its driver process (every driver JVM first runs an unlogged warm-up application)",
    "spark_version": "pyspark version that ran it",
}



def read_runs(path: Path) -> list[dict]:
    """The rows written so far; a torn last line (a crash inside a write) is cut off."""
    if not path.exists():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames and list(reader.fieldnames) != list(COLUMNS):
            raise SystemExit(f"{path} has columns {reader.fieldnames}, this version writes {list(COLUMNS)}: use another --out")
        return list(reader)


def _csv_text(rows: list[dict], header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def append_run(path: Path, row: dict) -> None:
    """One write of one complete line, fsynced: the file is consistent whenever the process stops."""
    text = _csv_text([row], header=not path.exists() or path.stat().st_size == 0)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def rewrite_runs(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    tmp.write_text(_csv_text(rows, header=True))
    os.replace(tmp, path)


def _machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()  # fmt: skip
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory_gb:.0f} GB RAM, {platform.system()} {platform.release()}"


def _java_version() -> str:
    try:
        text = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30).stderr
        return text.splitlines()[0] if text else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_readme(out: Path, args: argparse.Namespace, stopped_early: bool) -> None:
    import pyspark

    rows = read_runs(out / "runs.csv")
    ok = [r for r in rows if r["status"] == "ok"]
    dates = sorted(r["started_at"] for r in rows if r["started_at"])
    counts: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        counts.setdefault((r["workload"], r["scale"]), []).append(r)
    table = ["| workload | scale | input MB | configurations | runs (ok) | median wall s | median app wall s |", "|---|---|---|---|---|---|---|"]
    for (workload, scale), group in sorted(counts.items(), key=lambda kv: (kv[0][0], SCALES[kv[0][1]])):
        good = [r for r in group if r["status"] == "ok"]
        med = lambda col: f"{statistics.median(int(r[col]) for r in good) / 1000:.1f}" if good else "-"  # noqa: E731
        table.append(f"| {workload} | {scale} | {int(group[0]['input_bytes']) / 1e6:.1f} | {len({r['config_id'] for r in group})} "
                     f"| {len(group)} ({len(good)}) | {med('wall_ms')} | {med('app_wall_ms')} |")  # fmt: skip
    failures = sorted({(r["run_id"], r["failure_reason"]) for r in rows if r["status"] != "ok"})
    log_bytes = [int(r["event_log_bytes"]) for r in rows if r["event_log_bytes"]]
    repeats = sorted({int(r["repeat"]) for r in rows})
    workloads = "\n".join(f"- `{w.name}` ({', '.join(w.datasets)}): {w.shows}"
                          + (f"; conf {w.conf}" if w.conf else "") for w in WORKLOADS.values()
                          if w.name in {r["workload"] for r in rows})  # fmt: skip
    datasets = "\n".join(f"| {scale} | {n:,} |" for scale, n in SCALES.items())
    columns = "\n".join(f"| `{name}` | {text} |" for name, text in COLUMNS.items())
    grid = ", ".join(f"{name} {list(levels)}" for name, levels in GRID_LEVELS.items())
    text = f"""# A labelled corpus of real Spark runs

Generated by `benchmarks/corpus.py` of the Spark Optimizer project — every run is a real
Apache Spark application on a `local-cluster[E,C,MB]` master (E standalone executor JVMs with C cores
and MB of memory each, all on one host), reading deterministic Parquet inputs, with event logging on.
Nothing in it is simulated: the wall times are measured by the driver and the event logs are
Spark's own.

- **Machine**: {_machine()}; `load_1m` records the host load at each run (the generator's own driver and executor JVMs keep it at 3-5 on 2 cores)
- **Software**: Apache Spark (pyspark) {pyspark.__version__}, {_java_version()}, Python {platform.python_version()}
- **Dates**: {dates[0] if dates else '-'} to {dates[-1] if dates else '-'} (UTC)
- **Runs**: {len(rows)} ({len(ok)} ok, {len(rows) - len(ok)} failed){' — generation stopped early (--max-minutes or interrupt); run the command again to resume' if stopped_early else ''}
- **Event logs**: {len(log_bytes)} files, {sum(log_bytes) / 1e6:.1f} MB, median {statistics.median(log_bytes) / 1e3 if log_bytes else 0:.0f} KB per run (zstd)
- **Command** (last invocation): `python benchmarks/corpus.py {' '.join(sys.argv[1:])}`

## Licence

The corpus (runs.csv, the event logs and this file) is licensed under the Creative Commons
Attribution 4.0 International licence (CC BY 4.0, https://creativecommons.org/licenses/by/4.0/):
share and adapt it for any purpose, giving appropriate credit ("Spark Optimizer run corpus").
The input data in `data/` is synthetic and regenerable with the same command.

## Layout

- `runs.csv` — one row per run (columns below); repeats of a configuration share `config_id`.
- `eventlogs/<app_id>.zstd` — the run's event log (Spark's zstd codec, one file, not rolling);
  `spark.app.name` is the workload and `spark.optimizer.corpus.run_id` / `.config_id` / `.scale` /
  `.repeat` tag the run. Ingest with `spark-optimizer collect --event-log-dir eventlogs`.
- `data/<scale>/<dataset>/` — the Parquet inputs with a `_dataset.json` manifest (rows, bytes).
- `driver-logs/` — Spark's own logging of each driver process (for diagnosing failures).

## How runs were made

Grid: {grid} ({len(FULL_GRID)} points). Per workload, the defaults-like configuration
({DEFAULTS_LIKE.config_id}) plus a seeded balanced sample of the grid; every scale runs the
defaults-like configuration and its own block of {CONFIGS_PER_SCALE - 1} drawn ones, so a workload is measured
at {MAX_CONFIGS} configurations, {CONFIGS_PER_SCALE} per scale (runs made with `--configs` use the given
configurations instead). Each configuration ran {len(repeats)} times (`repeat` {repeats[0] if repeats else '-'}..{repeats[-1] if repeats else '-'}),
interleaved (repeat 1 of every configuration of a workload and scale, then repeat 2, ...), so
that drift on the host falls on every configuration alike.

Measurement: each application waited for all of its executors to register before its first job
(`spark.scheduler.minRegisteredResourcesRatio=1.0`), so `wall_ms` excludes executor start-up and
`app_wall_ms` includes it. Consecutive runs share one driver JVM (up to {args.runs_per_driver}
applications, then a fresh one; always a fresh one after a failure), and a fresh driver JVM
first runs an unlogged warm-up application of the same workloads on tiny inputs, so that no
measured run pays for a cold driver (that costs ~1.5x in wall and CPU time on this host).
Executors are always fresh JVMs, as on a cluster. Spark caches the default resource profile per
JVM, so it is reset before each application; the event logs show each run's own executors.
The host has fewer cores than some configurations have task slots: those are oversubscribed,
and their timings say so. Other processes on the host add noise: `load_1m` records the load,
and `cpu_ms` (CPU time of the driver and executor JVMs) is far less sensitive to it than wall
time.

Workloads:

{workloads}

Scales (fact-table rows N; dimension tables are sized from N, see `benchmarks/workloads/datasets.py`):

| scale | N |
|---|---|
{datasets}

{chr(10).join(table)}

## Columns of runs.csv

| column | meaning |
|---|---|
{columns}
"""
    if failures:
        text += "\n## Failed runs\n\n" + "\n".join(f"- `{run_id}`: {reason}" for run_id, reason in failures) + "\n"
    (out / "README.md").write_text(text)
