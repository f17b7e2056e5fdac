"""A labelled corpus of real Spark runs: workloads x configurations x input scales, repeated.

    python benchmarks/corpus.py --out DIR                       # the default corpus (252 runs; see the timing below)
    python benchmarks/corpus.py --out DIR --quick               # tests: 2 workloads, tiny data, one config each, 2 runs
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
  (`COLUMNS` in benchmarks/workloads/output.py documents each column); appended and fsynced after every run, so the file is
  always consistent; runs already in it are skipped on the next invocation (resume);
- `README.md` — how the corpus was generated (machine, versions, dates, grid) and its licence;
- `data/` (inputs, regenerable) and `driver-logs/` (Spark's own logging of each driver process).

Grid: for each workload, a seeded, balanced sample of the full grid (FULL_GRID, 72 points) that
starts with a defaults-like configuration (2 executors x 1 core, 1024 MB, 200 shuffle partitions,
AQE on, as an untuned job gets) and then cycles through every level of every dimension (memory
and partitions leave their default level first, memory at its smallest; see `workload_configs`).
Every scale runs the defaults-like configuration plus its own block of three drawn ones
(`scale_configs`; the largest scale gets the block with the smallest memory, so it meets a
memory cliff), so a workload is measured at ten configurations, four per scale. Every
configuration is run --repeats times, interleaved (repeat 1 of every configuration, then repeat
2, ...) so that drift on the host falls on every configuration alike; repeats share a config_id.
The default plan is 7 workloads x 3 scales x 4 configurations x 3 repeats = 252 runs. A run costs
~10-20 s of wall time on an idle 2-core host (most of it the executor JVMs' start-up and JIT
warm-up), so the corpus takes a little over an hour there; it is the machine's only work while it
runs, or the noise floor rises (an earlier corpus made at a load average of 3-12 from other work
had repeats 17% apart). --max-minutes caps it.

Runs go to a driver process (benchmarks/workloads/driver.py) that reuses its Python process and
JVM gateway for up to --runs-per-driver applications (measured: ~6 s less per run than a fresh
process each); a fresh one first runs an unlogged warm-up application, so no measured run pays
for a cold driver JVM. It is restarted after any failed run, after a run that exceeds
--run-timeout (killed with its process group and executor JVMs), and when it dies. Event logs
that no row of runs.csv points to (a run interrupted before it was recorded) are removed when
the corpus is resumed, so every log belongs to exactly one row.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.workloads.datasets import SCALES, ensure_dataset  # noqa: E402
from benchmarks.workloads.driver import DriverClient  # noqa: E402
from benchmarks.workloads.grid import DEFAULT_SCALES, DEFAULTS_LIKE, Config, Run, plan_runs  # noqa: E402
from benchmarks.workloads.output import append_run, read_runs, rewrite_runs, write_readme  # noqa: E402
from benchmarks.workloads.queries import WORKLOADS  # noqa: E402

DRIVER_MEMORY = "2g"
QUICK_WORKLOADS = ("aggregation", "multi_join")
# The six kinds the corpus must cover; cache_reuse runs on request (--workloads), to keep the
# default corpus near 45 minutes on 2 cores.
DEFAULT_WORKLOADS = ("aggregation", "multi_join", "skewed_join", "wide_sort", "window_dedup", "ml_kmeans")
QUICK_CONFIGS = (DEFAULTS_LIKE, Config(1, 2, 512, 8, False))
RUN_TAG = "spark.optimizer.corpus"


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


def remove_orphan_logs(out: Path, rows: list[dict]) -> list[str]:
    """Event logs that no row points to: runs interrupted before they were recorded (they run again)."""
    kept = {Path(r["event_log"]).name for r in rows if r["event_log"]}
    orphans = [p for p in (out / "eventlogs").iterdir() if p.is_file() and p.name not in kept]
    for path in orphans:
        path.unlink()
    return [p.name for p in orphans]


def _new_log(out: Path, before: set[str]) -> dict:
    """For a run whose driver died or was killed: the one event log it left, if any."""
    new = [p.name for p in (out / "eventlogs").iterdir() if p.name not in before]
    return {"app_id": new[0].split(".")[0]} if len(new) == 1 else {}


class _Stop(Exception):
    """SIGTERM or SIGINT: stop now, keep every recorded run."""


def _raise_stop(signum, frame):
    raise _Stop(signal.Signals(signum).name)


class Corpus:
    """Runs the pending runs of a plan through driver processes and records each one."""

    def __init__(self, args: argparse.Namespace, out: Path, scratch_root: Path, workloads: list[str]):
        import pyspark

        self.args, self.out, self.scratch_root, self.workloads = args, out, scratch_root, workloads
        self.spark_version = pyspark.__version__
        self.env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
                    "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_WORKER_DIR": str(scratch_root / "spark-work")}  # fmt: skip
        self.driver: DriverClient | None = None
        self.drivers_started = len(list((out / "driver-logs").glob("driver-*.log")))
        self.inputs: dict[tuple[str, str], tuple[int, int]] = {}

    def _driver(self) -> DriverClient:
        """The current driver process, or a new one (after its warm-up application)."""
        if self.driver is not None and self.driver.alive() and self.driver.runs < self.args.runs_per_driver:
            return self.driver
        self.close_driver()
        self.drivers_started += 1
        self.driver = DriverClient(self.out / "driver-logs" / f"driver-{self.drivers_started:03d}.log", self.env, DRIVER_MEMORY)
        if not self.args.warmup:
            return self.driver
        warmup = self.driver.run(warmup_spec(self.workloads, self.out, self.scratch_root, self.args.run_timeout),
                                 self.args.run_timeout + 180)  # fmt: skip
        self.driver.runs = 0
        if isinstance(warmup, str) or warmup["status"] != "ok":
            reason = warmup if isinstance(warmup, str) else warmup["failure_reason"]
            raise SystemExit(f"the warm-up application of a new driver process failed ({reason}); see {self.driver.log_path}")
        print(f"driver process {self.drivers_started}: warm-up application {warmup['app_wall_ms'] / 1000:.1f} s", flush=True)
        return self.driver

    def close_driver(self, graceful: bool = True) -> None:
        if self.driver is not None:
            self.driver.close(graceful)
            self.driver = None

    def run(self, run: Run) -> dict:
        """Make one run and return its runs.csv row (a failed run is a row too)."""
        key = (run.workload, run.scale)
        if key not in self.inputs:
            infos = [ensure_dataset(self.out / "data", run.scale, name) for name in WORKLOADS[run.workload].datasets]
            self.inputs[key] = (sum(i.bytes for i in infos), sum(i.rows for i in infos))
        driver = self._driver()
        c = run.config
        spec = {
            "run_id": run.run_id, "workloads": [run.workload], "conf": spark_conf(run, self.out),
            "master": f"local-cluster[{c.executors},{c.executor_cores},{c.executor_memory_mb}]",
            "expected_executors": c.executors, "timeout_s": self.args.run_timeout,
            "inputs": {name: str(self.out / "data" / run.scale / name) for name in WORKLOADS[run.workload].datasets},
            "scratch": str(self.scratch_root / "scratch" / run.run_id),
        }  # fmt: skip
        logs_before = {p.name for p in (self.out / "eventlogs").iterdir()}
        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        result = driver.run(spec, limit_s=self.args.run_timeout + 180)
        if isinstance(result, str):  # the driver died or hung: no result, maybe a partial event log
            result = {"status": "failed", "failure_reason": result, "started_at": started_at, **_new_log(self.out, logs_before)}
        row = _row(run, result, self.inputs[key], self.out, driver.runs, self.spark_version)
        append_run(self.out / "runs.csv", row)
        if row["status"] != "ok":
            self.close_driver()  # a fresh driver JVM after any failure
        return row


def generate(args: argparse.Namespace) -> int:
    out: Path = args.out.resolve()
    csv_path = out / "runs.csv"
    rows = read_runs(csv_path)
    if args.retry_failed and any(r["status"] != "ok" for r in rows):
        rows = [r for r in rows if r["status"] == "ok"]
        rewrite_runs(csv_path, rows)
    done = {r["run_id"] for r in rows}
    plan = plan_runs(args.workloads, args.scales, args.repeats, args.configs, paired=args.quick)
    pending = [run for run in plan if run.run_id not in done]
    print(f"{len(plan)} runs planned, {len(plan) - len(pending)} already in {csv_path}, {len(pending)} to run", flush=True)
    if args.dry_run:
        print("\n".join(f"  {run.run_id}" for run in pending))
        return 0
    for sub in ("eventlogs", "data", "driver-logs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    orphans = remove_orphan_logs(out, rows)
    if orphans:
        print(f"removed {len(orphans)} event log(s) of runs interrupted before they were recorded: {orphans}", flush=True)

    started = time.monotonic()
    deadline = started + args.max_minutes * 60 if args.max_minutes else None
    seconds: dict[tuple[str, str], list[float]] = {}
    scratch_root = Path(tempfile.mkdtemp(prefix="spark-corpus-"))
    corpus = Corpus(args, out, scratch_root, list(dict.fromkeys(run.workload for run in pending)))
    stopped_early, graceful = False, True
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for number, run in enumerate(pending, 1):
            key = (run.workload, run.scale)
            if deadline is not None:
                expected = statistics.median(seconds.get(key) or [s for ss in seconds.values() for s in ss] or [0])
                if time.monotonic() + expected > deadline:
                    print(f"--max-minutes {args.max_minutes} reached before {run.run_id}; run the same command to resume", flush=True)
                    stopped_early = True
                    break
            began = time.monotonic()
            row = corpus.run(run)
            seconds.setdefault(key, []).append(time.monotonic() - began)
            _print_progress(number, len(pending), run, row, time.monotonic() - started)
    except _Stop as stop:
        print(f"{stop}: stopping; runs.csv holds every recorded run; run the same command to resume", flush=True)
        stopped_early, graceful = True, False
    finally:
        corpus.close_driver(graceful)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(scratch_root, ignore_errors=True)
        if not graceful:
            remove_orphan_logs(out, read_runs(csv_path))
        write_readme(out, args, stopped_early)
    print(f"done in {(time.monotonic() - started) / 60:.1f} min; {csv_path}", flush=True)
    return 0


def _print_progress(number: int, total: int, run: Run, row: dict, elapsed_s: float) -> None:
    wall = f"wall {int(row['wall_ms']) / 1000:6.1f} s" if row["wall_ms"] not in (None, "") else "wall      -"
    app = f"app {int(row['app_wall_ms']) / 1000:6.1f} s" if row["app_wall_ms"] not in (None, "") else "app      -"
    eta_min = elapsed_s / number * (total - number) / 60
    print(f"[{number:3d}/{total}] {run.run_id:50s} {row['status']:6s} {wall}  {app}  load {row['load_1m']}  "
          f"elapsed {elapsed_s / 60:5.1f} min  eta {eta_min:5.1f} min"
          + (f"  ({row['failure_reason']})" if row["failure_reason"] else ""), flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="corpus folder (created; resumed when it has runs.csv)")
    parser.add_argument("--quick", action="store_true",
                        help=f"tests: {' and '.join(QUICK_WORKLOADS)} on tiny data, each with one of 2 configurations, 1 repeat")
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), help=f"default: {' '.join(DEFAULT_WORKLOADS)}")
    parser.add_argument("--scales", nargs="+", choices=list(SCALES), help=f"default: {' '.join(DEFAULT_SCALES)}")
    parser.add_argument("--repeats", type=int, help="runs per configuration (default 3; --quick 1)")
    parser.add_argument("--configs", nargs="+", type=Config.parse, help="run these config ids instead of the sampled grid")
    parser.add_argument("--max-minutes", type=float, help="do not start a run that would end after this; resume later")
    parser.add_argument("--run-timeout", type=int, default=600, help="seconds before a run's jobs are cancelled")
    parser.add_argument("--runs-per-driver", type=int, default=80, help="applications per driver JVM before a fresh one")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false",
                        help="skip each driver's warm-up application (the default with --quick, whose timings are not for models)")
    parser.add_argument("--retry-failed", action="store_true", help="drop failed rows from runs.csv and run them again")
    parser.add_argument("--dry-run", action="store_true", help="print the runs that would be made")
    args = parser.parse_args(argv)
    if args.quick:
        args.workloads = args.workloads or list(QUICK_WORKLOADS)
        args.scales = args.scales or ["tiny"]
        args.configs = args.configs or list(QUICK_CONFIGS)
        args.repeats = args.repeats or 1
        args.warmup = False
    args.workloads = args.workloads or list(DEFAULT_WORKLOADS)
    args.scales = sorted(args.scales or DEFAULT_SCALES, key=SCALES.get)
    args.repeats = args.repeats or 3
    return args


def main(argv: list[str] | None = None) -> int:
    return generate(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
