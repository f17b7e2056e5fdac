"""A labelled corpus of real Spark runs: workloads x configurations x input scales, repeated.

    python benchmarks/corpus.py --out DIR                       # the default corpus (~40 min on 2 cores)
    python benchmarks/corpus.py --out DIR --quick               # 2 workloads, tiny data, 2 configs (~1.5 min)
    python benchmarks/corpus.py --out DIR --workloads aggregation wide_sort --scales small --repeats 3
    python benchmarks/corpus.py --out DIR --max-minutes 30      # stops cleanly; run again to resume
    python benchmarks/corpus.py --out DIR --dry-run             # print the plan

Every run is its own Spark application (its own SparkContext and event log) on a
`local-cluster[E,C,MB]` master: E real standalone executor JVMs with C cores and MB of memory
each, on this host. Its configuration is one point of the grid executors x cores x executor
memory x shuffle partitions x AQE; it reads deterministic Parquet inputs of one scale, generated
once into DIR/data/ (see benchmarks/workloads/datasets.py). Output in DIR:

- `eventlogs/<app id>.zstd` — one zstd event log per run (ingest with `spark-optimizer collect`);
- `runs.csv` — one row per run: its configuration, input size, measured wall time, status
  (`COLUMNS` below documents each column); appended and fsynced after every run, so the file is
  always consistent; runs already in it are skipped on the next invocation (resume);
- `README.md` — how the corpus was generated (machine, versions, dates, grid) and its licence;
- `data/` (inputs, regenerable) and `driver-logs/` (Spark's own logging of each driver process).

Grid: for each workload, a seeded, balanced sample of the full grid (FULL_GRID, 108 points) that
starts with a defaults-like configuration (2 executors x 1 core, 1024 MB, 200 shuffle partitions,
AQE on, as an untuned job gets) and then cycles through every level of every dimension, moving
away from the defaults first (`workload_configs`). Scale s runs the first CONFIGS_PER_SCALE[s]
of them, so the configurations of a larger scale are a subset of a smaller one's (extrapolation
to the largest input can be checked config by config). Every configuration is run --repeats
times, interleaved (repeat 1 of every configuration, then repeat 2, ...) so that drift on the
host falls on every configuration alike; repeats share a config_id.

Runs go to a driver process (benchmarks/workloads/driver.py) that reuses its Python process and
JVM gateway for up to --runs-per-driver applications; it is restarted after any failed run,
after a run that exceeds --run-timeout (killed with its process group), and when it dies.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import os
import platform
import random
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.workloads.datasets import DATASETS, SCALES, ensure_dataset  # noqa: E402
from benchmarks.workloads.queries import WORKLOADS  # noqa: E402

DRIVER = REPO / "benchmarks" / "workloads" / "driver.py"
DRIVER_MEMORY = "2g"
GRID_LEVELS = {
    "executors": (1, 2, 3),
    "executor_cores": (1, 2),
    "executor_memory_mb": (512, 1024, 2048),
    "shuffle_partitions": (8, 32, 200),
    "aqe": (True, False),
}
CONFIGS_PER_SCALE = {"tiny": 2, "small": 5, "medium": 4, "large": 3}
DEFAULT_SCALES = ("small", "medium", "large")
QUICK_WORKLOADS = ("aggregation", "multi_join")
RUN_TAG = "spark.optimizer.corpus"

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


@dataclass(frozen=True)
class Config:
    executors: int
    executor_cores: int
    executor_memory_mb: int
    shuffle_partitions: int
    aqe: bool

    @property
    def config_id(self) -> str:
        return (f"e{self.executors}c{self.executor_cores}m{self.executor_memory_mb}"
                f"p{self.shuffle_partitions}-{'aqe' if self.aqe else 'noaqe'}")  # fmt: skip

    @classmethod
    def parse(cls, config_id: str) -> Config:
        import re

        m = re.fullmatch(r"e(\d+)c(\d+)m(\d+)p(\d+)-(aqe|noaqe)", config_id)
        if not m:
            raise argparse.ArgumentTypeError(f"expected a config id like e2c1m1024p200-aqe, got {config_id!r}")
        e, c, mb, p, aqe = m.groups()
        return cls(int(e), int(c), int(mb), int(p), aqe == "aqe")


DEFAULTS_LIKE = Config(2, 1, 1024, 200, True)
FULL_GRID = [Config(*values) for values in itertools.product(*GRID_LEVELS.values())]


def workload_configs(workload: str, count: int) -> list[Config]:
    """The defaults-like configuration, then a seeded balanced sample of the grid: each dimension
    first takes its non-default levels (seeded order), then rounds of all its levels (each round
    a seeded shuffle), so the first few configurations already span every level of every
    dimension, and later ones mix levels without lining up the defaults."""
    rng = random.Random(f"corpus-grid/{workload}")
    default = asdict(DEFAULTS_LIKE)
    sequences = {}
    for name, levels in GRID_LEVELS.items():
        sequence = [level for level in levels if level != default[name]]
        rng.shuffle(sequence)
        for _ in range(count):
            round_ = list(levels)
            rng.shuffle(round_)
            sequence += round_
        sequences[name] = sequence
    configs, index = [DEFAULTS_LIKE], 0
    while len(configs) < min(count, len(FULL_GRID)):
        candidate = Config(**{name: sequences[name][index % len(sequences[name])] for name in GRID_LEVELS})
        index += 1
        if candidate in configs:  # rare: the same point twice; shift one dimension's sequence
            name = rng.choice(list(GRID_LEVELS))
            sequences[name] = sequences[name][1:] + sequences[name][:1]
            continue
        configs.append(candidate)
    return configs


@dataclass(frozen=True)
class Run:
    workload: str
    scale: str
    config: Config
    repeat: int

    @property
    def run_id(self) -> str:
        return f"{self.workload}.{self.scale}.{self.config.config_id}.r{self.repeat}"


def plan_runs(workloads: list[str], scales: list[str], repeats: int, configs: list[Config] | None) -> list[Run]:
    """Scale by scale (smallest first, so a stopped corpus is complete for the small inputs),
    workload by workload; inside one (workload, scale), repeat-major so repeats are spread out."""
    runs = []
    for scale in scales:
        for workload in workloads:
            chosen = configs or workload_configs(workload, CONFIGS_PER_SCALE[scale])
            for repeat in range(1, repeats + 1):
                runs += [Run(workload, scale, config, repeat) for config in chosen]
    return runs


def _executor_conf(executors: int, cores: int, memory_mb: int) -> dict[str, str]:
    return {
        "spark.executor.instances": str(executors),
        "spark.executor.cores": str(cores),
        "spark.cores.max": str(executors * cores),
        "spark.executor.memory": f"{memory_mb}m",
        "spark.driver.memory": DRIVER_MEMORY,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        # Wait for every executor before the first job, as YARN's default does, so start-up is not
        # mixed into the first stages; a run where some never register is recorded as failed.
        "spark.scheduler.minRegisteredResourcesRatio": "1.0",
        "spark.scheduler.maxRegisteredResourcesWaitingTime": "120s",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
    }


def spark_conf(run: Run, out: Path) -> dict[str, str]:
    c = run.config
    return {
        "spark.app.name": run.workload,
        f"{RUN_TAG}.run_id": run.run_id,
        f"{RUN_TAG}.config_id": c.config_id,
        f"{RUN_TAG}.workload": run.workload,
        f"{RUN_TAG}.scale": run.scale,
        f"{RUN_TAG}.repeat": str(run.repeat),
        **_executor_conf(c.executors, c.executor_cores, c.executor_memory_mb),
        "spark.sql.shuffle.partitions": str(c.shuffle_partitions),
        "spark.sql.adaptive.enabled": str(c.aqe).lower(),
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": (out / "eventlogs").resolve().as_uri(),
        "spark.eventLog.compress": "true",
        "spark.eventLog.compression.codec": "zstd",
        "spark.eventLog.rolling.enabled": "false",  # one file per run
        "spark.eventLog.logStageExecutorMetrics": "true",  # per-stage executor memory peaks for the resource model
        "spark.executor.processTreeMetrics.enabled": "true",
        **WORKLOADS[run.workload].conf,
    }


def warmup_spec(workloads: list[str], out: Path, scratch_root: Path, timeout_s: int) -> dict:
    """One application, without an event log, that runs every planned workload on the tiny
    inputs. A fresh driver JVM plans and compiles queries several times slower than a warm one
    (measured: the first application of a driver took ~1.5x the wall and CPU time of the next
    ones), so every measured run gets a driver that has already run its workload's code."""
    inputs = {name: str(ensure_dataset(out / "data", "tiny", name).path) for w in workloads for name in WORKLOADS[w].datasets}
    return {
        "run_id": "driver-warmup", "workloads": list(workloads), "master": "local-cluster[1,2,1024]",
        "conf": {"spark.app.name": "corpus-driver-warmup", **_executor_conf(1, 2, 1024),
                 "spark.sql.shuffle.partitions": "8", "spark.eventLog.enabled": "false"},
        "expected_executors": 1, "inputs": inputs, "scratch": str(scratch_root / "scratch" / "warmup"),
        "timeout_s": timeout_s,
    }  # fmt: skip


# ---- runs.csv ----------------------------------------------------------------------------------


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


# ---- the driver process ------------------------------------------------------------------------


class DriverProcess:
    """A driver process (benchmarks/workloads/driver.py) fed run specs on stdin; results come
    back on a pipe of their own, so Spark's logging on stdout/stderr cannot interleave."""

    def __init__(self, log_path: Path, env: dict[str, str]):
        read_fd, write_fd = os.pipe()
        self.log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(DRIVER), "--result-fd", str(write_fd), "--driver-memory", DRIVER_MEMORY],
            stdin=subprocess.PIPE, stdout=self.log, stderr=subprocess.STDOUT, pass_fds=(write_fd,),
            env=env, start_new_session=True, text=True,
        )  # fmt: skip
        os.close(write_fd)
        self.results = os.fdopen(read_fd, "r")
        self.runs = 0

    def run(self, spec: dict, limit_s: float) -> dict | str:
        """The run's result, or why there is none (the process died or passed limit_s)."""
        self.runs += 1
        try:
            self.proc.stdin.write(json.dumps(spec) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return f"driver process exited with code {self.proc.wait()}"
        ready, _, _ = select.select([self.results], [], [], limit_s)
        line = self.results.readline() if ready else ""
        if line:
            return json.loads(line)
        if not ready:
            self.kill()
            return f"timeout: no result after {limit_s:.0f} s, driver process killed"
        return f"driver process exited with code {self.proc.wait()}"

    def kill(self) -> None:
        """Its whole process group: the driver JVM and the executor JVMs it started."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        self.results.close()
        self.log.close()


# ---- orchestration -----------------------------------------------------------------------------


def _row(run: Run, result: dict, inputs: tuple[int, int], out: Path, driver_run_index: int, spark_version: str) -> dict:
    c = run.config
    log = out / "eventlogs" / f"{result['app_id']}.zstd" if result.get("app_id") else None
    if log is not None and not log.exists() and log.with_name(log.name + ".inprogress").exists():
        log = log.with_name(log.name + ".inprogress")
    return {
        "run_id": run.run_id, "config_id": c.config_id, "workload": run.workload, "scale": run.scale,
        "input_bytes": inputs[0], "input_rows": inputs[1], "executors": c.executors,
        "executor_cores": c.executor_cores, "executor_memory_mb": c.executor_memory_mb,
        "shuffle_partitions": c.shuffle_partitions, "aqe": str(c.aqe).lower(), "repeat": run.repeat,
        "app_id": result.get("app_id", ""), "wall_ms": result.get("wall_ms"), "app_wall_ms": result.get("app_wall_ms"),
        "status": result.get("status", "failed"), "failure_reason": result.get("failure_reason", ""),
        "started_at": result.get("started_at", ""), "startup_ms": result.get("startup_ms"), "cpu_ms": result.get("cpu_ms"),
        "executors_registered": result.get("executors_registered", 0), "load_1m": result.get("load_1m"),
        "event_log": str(log.relative_to(out)) if log is not None and log.exists() else "",
        "event_log_bytes": log.stat().st_size if log is not None and log.exists() else "",
        "driver_run_index": driver_run_index, "spark_version": spark_version,
    }  # fmt: skip


def generate(args: argparse.Namespace) -> int:
    import pyspark

    out: Path = args.out.resolve()
    for sub in ("eventlogs", "data", "driver-logs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    csv_path = out / "runs.csv"
    rows = read_runs(csv_path)
    if args.retry_failed and any(r["status"] != "ok" for r in rows):
        rows = [r for r in rows if r["status"] == "ok"]
        rewrite_runs(csv_path, rows)
    done = {r["run_id"] for r in rows}
    plan = plan_runs(args.workloads, args.scales, args.repeats, args.configs)
    pending = [run for run in plan if run.run_id not in done]
    print(f"{len(plan)} runs planned, {len(plan) - len(pending)} already in {csv_path}, {len(pending)} to run", flush=True)
    if args.dry_run:
        for run in pending:
            print(f"  {run.run_id}")
        return 0

    scratch_root = Path(tempfile.mkdtemp(prefix="spark-corpus-"))
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_WORKER_DIR": str(scratch_root / "spark-work")}  # fmt: skip
    started = time.monotonic()
    deadline = started + args.max_minutes * 60 if args.max_minutes else None
    durations: dict[tuple[str, str], list[float]] = {}
    driver: DriverProcess | None = None
    driver_count = len(list((out / "driver-logs").glob("driver-*.log")))
    inputs_cache: dict[tuple[str, str], tuple[int, int]] = {}
    stopped_early = False
    try:
        for number, run in enumerate(pending, 1):
            key = (run.workload, run.scale)
            if deadline is not None:
                expected = statistics.median(durations.get(key) or [d for ds in durations.values() for d in ds] or [0])
                if time.monotonic() + expected > deadline:
                    print(f"--max-minutes {args.max_minutes} reached: stopping before {run.run_id}; run again to resume", flush=True)
                    stopped_early = True
                    break
            if key not in inputs_cache:
                infos = [ensure_dataset(out / "data", run.scale, name) for name in WORKLOADS[run.workload].datasets]
                inputs_cache[key] = (sum(i.bytes for i in infos), sum(i.rows for i in infos))
            if driver is None or driver.runs >= args.runs_per_driver or driver.proc.poll() is not None:
                if driver is not None:
                    driver.close()
                driver_count += 1
                driver = DriverProcess(out / "driver-logs" / f"driver-{driver_count:03d}.log", env)
                warmup = driver.run(warmup_spec(args.workloads, out, scratch_root, args.run_timeout), args.run_timeout + 180)
                driver.runs = 0
                if isinstance(warmup, str) or warmup["status"] != "ok":
                    reason = warmup if isinstance(warmup, str) else warmup["failure_reason"]
                    raise SystemExit(f"the driver's warm-up application failed ({reason}); see {driver.log.name}")
                print(f"driver {driver_count}: warm-up application {warmup['app_wall_ms'] / 1000:.1f} s", flush=True)
            spec = {
                "run_id": run.run_id, "workloads": [run.workload],
                "master": f"local-cluster[{run.config.executors},{run.config.executor_cores},{run.config.executor_memory_mb}]",
                "conf": spark_conf(run, out), "expected_executors": run.config.executors,
                "inputs": {name: str(out / "data" / run.scale / name) for name in WORKLOADS[run.workload].datasets},
                "scratch": str(scratch_root / "scratch" / run.run_id), "timeout_s": args.run_timeout,
            }  # fmt: skip
            began = time.monotonic()
            result = driver.run(spec, limit_s=args.run_timeout + 180)
            if isinstance(result, str):
                result = {"status": "failed", "failure_reason": result,
                          "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}  # fmt: skip
            row = _row(run, result, inputs_cache[key], out, driver.runs, pyspark.__version__)
            append_run(csv_path, row)
            durations.setdefault(key, []).append(time.monotonic() - began)
            if row["status"] != "ok":
                driver.close() if driver.proc.poll() is None else None
                driver = None  # a fresh JVM after any failure
            elapsed = time.monotonic() - started
            eta = elapsed / number * (len(pending) - number)
            wall = f"wall {int(row['wall_ms']) / 1000:6.1f} s" if row["wall_ms"] not in (None, "") else "wall      -"
            print(f"[{number:3d}/{len(pending)}] {run.run_id:52s} {row['status']:6s} {wall}  app "
                  f"{(row['app_wall_ms'] or 0) / 1000:6.1f} s  load {row['load_1m']}  "
                  f"elapsed {elapsed / 60:5.1f} min  eta {eta / 60:5.1f} min"
                  + (f"  ({row['failure_reason']})" if row["failure_reason"] else ""), flush=True)
    except KeyboardInterrupt:
        print("interrupted: runs.csv holds every finished run; run again to resume", flush=True)
        stopped_early = True
    finally:
        if driver is not None:
            driver.close()
        shutil.rmtree(scratch_root, ignore_errors=True)
        write_readme(out, args, stopped_early)
    print(f"done in {(time.monotonic() - started) / 60:.1f} min; {csv_path}", flush=True)
    return 0


# ---- README ------------------------------------------------------------------------------------


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
    workloads = "\n".join(f"- `{w.name}` ({', '.join(w.datasets)}): {w.shows}"
                          + (f"; conf {w.conf}" if w.conf else "") for w in WORKLOADS.values())  # fmt: skip
    datasets = "\n".join(f"| {scale} | {n:,} |" for scale, n in SCALES.items())
    columns = "\n".join(f"| `{name}` | {text} |" for name, text in COLUMNS.items())
    grid = ", ".join(f"{name} {list(levels)}" for name, levels in GRID_LEVELS.items())
    text = f"""# A labelled corpus of real Spark runs

Generated by `benchmarks/corpus.py` of [Spark Optimizer](https://github.com/) — every run is a real
Apache Spark application on a `local-cluster[E,C,MB]` master (E standalone executor JVMs with C cores
and MB of memory each, all on one host), reading deterministic Parquet inputs, with event logging on.
Nothing in it is simulated: the wall times are measured by the driver and the event logs are
Spark's own.

- **Machine**: {_machine()}, shared with other work (see `load_1m`)
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
({DEFAULTS_LIKE.config_id}) plus a seeded balanced sample of the grid; scale s runs the first
{', '.join(f'{k} ({v})' for k, v in CONFIGS_PER_SCALE.items())} of them, so a larger scale's
configurations are a subset of a smaller one's. Each configuration ran {args.repeats} times,
interleaved (repeat 1 of every configuration of a workload and scale, then repeat 2, ...).
Each application waited for all of its executors to register before its first job
(`spark.scheduler.minRegisteredResourcesRatio=1.0`), so `wall_ms` excludes executor start-up and
`app_wall_ms` includes it. Consecutive runs share one driver JVM (up to
{args.runs_per_driver} applications, then a fresh one; always a fresh one after a failure);
executors are always fresh JVMs. The host has fewer cores than some configurations have task
slots, so those configurations are oversubscribed — their timings say so, as they would on an
oversubscribed node.

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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="corpus folder (created; resumed when it has runs.csv)")
    parser.add_argument("--quick", action="store_true",
                        help=f"tests: {' and '.join(QUICK_WORKLOADS)} on tiny data, 2 configurations, 1 repeat")
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), help="default: all")
    parser.add_argument("--scales", nargs="+", choices=list(SCALES), help=f"default: {' '.join(DEFAULT_SCALES)}")
    parser.add_argument("--repeats", type=int, help="runs per configuration (default 3; --quick 1)")
    parser.add_argument("--configs", nargs="+", type=Config.parse, help="run these config ids instead of the sampled grid")
    parser.add_argument("--max-minutes", type=float, help="do not start a run that would end after this; resume later")
    parser.add_argument("--run-timeout", type=int, default=600, help="seconds before a run's jobs are cancelled")
    parser.add_argument("--runs-per-driver", type=int, default=25, help="applications per driver JVM before a fresh one")
    parser.add_argument("--retry-failed", action="store_true", help="drop failed rows from runs.csv and run them again")
    parser.add_argument("--dry-run", action="store_true", help="print the runs that would be made")
    args = parser.parse_args(argv)
    if args.quick:
        args.workloads = args.workloads or list(QUICK_WORKLOADS)
        args.scales = args.scales or ["tiny"]
        args.configs = args.configs or [DEFAULTS_LIKE, Config(1, 2, 512, 8, False)]
        args.repeats = args.repeats or 1
    args.workloads = args.workloads or list(WORKLOADS)
    args.scales = sorted(args.scales or DEFAULT_SCALES, key=SCALES.get)
    args.repeats = args.repeats or 3
    return args


def main(argv: list[str] | None = None) -> int:
    return generate(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
