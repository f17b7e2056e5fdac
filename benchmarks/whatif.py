"""How well does the executor what-if predict a real run at another size?

    python benchmarks/whatif.py [--workload cpu io] [--rows 3000000] [--repeats 2]
                                [--configs 1,1 2,1 [1,2]] [--keep] [--report-only] [folder]

1. Runs each workload (see `workload`: `cpu`, a shuffle join + aggregations of --rows facts;
   `io`, the same join over few rows where every scan and post-join task waits 400 ms as on
   remote storage) as separate applications on `local-cluster[E,C,1024]` for every --configs E,C
   pair, --repeats times, interleaved so that drift on the host hits every size alike. Event logs
   on; each app waits for all its executors before the first job. Defaults: 8 runs, ~4 minutes
   on an idle 2-core host.
2. Ingests every log with `ingest_event_logs` into a fresh warehouse.
3. For every ordered pair of runs (source, target) of one workload at different sizes, replays
   the source run at the target's size with `simulate_app` and compares it with the target's
   measured wall time (ApplicationStart -> ApplicationEnd): APE = |predicted - measured| /
   measured, raw and calibrated, and for the executor part alone (replayed executor time vs the
   target's busy time). The replay's error at the run's own size (calibration) and the noise
   between repeats of one size (|a - b| / mean) are printed for scale.

The host is the cluster: on 2 cores, two 1-core executors and the driver share 2 cores, and each
executor JVM warms up on its own, so per-task times grow with the executor count; that is
exactly what the model does not know about (it keeps task durations), and it shows here. Other
processes on the host show as noise between repeats; the 1-minute load average after each run
is printed so that disturbed runs can be spotted.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RUN_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)


WAIT_MS = 400
FIRST_ROW_OF_PARTITION = "(monotonically_increasing_id() & 8589934591) = 0"  # low 33 bits: row number in the partition


def workload(kind: str, master: str, log_dir: Path, rows: int, tag: str) -> None:
    """Runs in its own process: one application whose event log lands in log_dir.

    `cpu`: a shuffle join of `rows` facts with 200k dimension rows, grouped, then a second grouped
    aggregation; every task burns CPU, so on a small host more slots means slower tasks.
    `io`: the join and grouping alone over rows / 50 facts and 10k dimension rows, where the first
    row of every fact scan and every post-join partition waits WAIT_MS in the JVM (`reflect`
    Thread.sleep), as a read from remote storage would; task times then depend much less on how
    many tasks share the host, which is what the model assumes.
    Both wait for every executor to register before the first job (as YARN's default
    minRegisteredResourcesRatio does), so executor start-up is not mixed into the first stages.
    """
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    executors, cores, _ = map(int, re.match(r"local-cluster\[(\d+),(\d+),(\d+)\]", master).groups())
    spark = (
        SparkSession.builder.master(master).appName(f"whatif-benchmark {kind} {tag}")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "1g").config("spark.executor.memory", "768m")
        .config("spark.eventLog.enabled", "true").config("spark.eventLog.dir", f"file:{log_dir.resolve()}")
        .config("spark.sql.autoBroadcastJoinThreshold", "-1").config("spark.sql.shuffle.partitions", "16")
        .config("spark.sql.adaptive.coalescePartitions.enabled", "false")
        .config("spark.cores.max", str(executors * cores)).config("spark.scheduler.minRegisteredResourcesRatio", "1.0")
        .config("spark.scheduler.maxRegisteredResourcesWaitingTime", "120s")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    wait = F.expr(f"CASE WHEN {FIRST_ROW_OF_PARTITION} THEN reflect('java.lang.Thread', 'sleep', {WAIT_MS}L) END")
    fact_rows, dim_rows = (rows, 200_000) if kind == "cpu" else (rows // 50, 10_000)
    facts = spark.range(0, fact_rows, numPartitions=16).selectExpr("id", f"id % {dim_rows} AS k", "rand(7) * 100 AS v")
    dims = spark.range(0, dim_rows, numPartitions=4).selectExpr("id AS k", "id % 97 AS g", "sha2(cast(id AS string), 256) AS name")
    if kind == "io":
        facts = facts.withColumn("waited", wait)
    joined = facts.join(dims, "k")
    if kind == "io":
        joined = joined.withColumn("waited", F.concat_ws(",", "waited", wait))
    aggregates = [F.sum("v"), F.countDistinct("name"), F.count("*")] + ([F.max("waited")] if kind == "io" else [])
    joined.groupBy("g").agg(*aggregates).write.format("noop").mode("overwrite").save()
    if kind == "cpu":
        facts.groupBy((F.col("id") % 1000).alias("bucket")).agg(F.avg("v")).write.format("noop").mode("overwrite").save()
    spark.stop()


def run_all(kinds: list[str], configs: list[tuple[int, int]], repeats: int, rows: int, log_dir: Path) -> None:
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    for repeat in range(1, repeats + 1):
        for kind in kinds:
            for executors, cores in configs:
                master = f"local-cluster[{executors},{cores},1024]"
                tag = f"{executors}x{cores}#{repeat}"
                started = time.perf_counter()
                subprocess.run(
                    [sys.executable, __file__, "--role", "run", "--workload", kind, "--master", master,
                     "--rows", str(rows), "--tag", tag, str(log_dir)],
                    check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
                load = os.getloadavg()[0]
                print(f"  ran {kind} {tag} on {master}: {time.perf_counter() - started:5.1f} s process time, "
                      f"1-min load average after it {load:.1f}", flush=True)


def load_runs(log_dir: Path, warehouse: Path) -> list[dict]:
    """Ingest the logs; one dict per run with its workload, tag, size and table rows."""
    from spark_optimizer.config import load_settings
    from spark_optimizer.eventlog.ingest import ingest_event_logs
    from spark_optimizer.session import get_or_create_spark
    from spark_optimizer.tables import APPLICATIONS, JOBS, STAGES, TASKS
    from spark_optimizer.tables.store import TableStore

    spark = get_or_create_spark("local[2]", "whatif-benchmark-ingest")
    store = TableStore(spark, load_settings(warehouse=str(warehouse), environ={}))
    summary = ingest_event_logs(spark, store, str(log_dir), RUN_TIME)
    spark.stop()
    print(f"  ingested: {summary.as_dict()}")
    tables = {spec.name: store.read_arrow(spec).to_pylist() for spec in (APPLICATIONS, STAGES, TASKS, JOBS)}
    runs = []
    for app in tables["applications"]:
        key = (app["app_id"], app["attempt_id"])
        executors, cores, _ = map(int, re.match(r"local-cluster\[(\d+),(\d+),(\d+)\]", app["master"]).groups())
        _, kind, tag = app["app_name"].split()
        rows = {name: [r for r in tables[name] if (r["app_id"], r["attempt_id"]) == key] for name in ("stages", "tasks", "jobs")}
        runs.append({"kind": kind, "tag": tag, "executors": executors, "cores": cores, "app": app, **rows})
    return sorted(runs, key=lambda r: (r["kind"], r["tag"]))


def _size(run: dict) -> str:
    return f"{run['executors']}x{run['cores']}"


def predict(source: dict, target: dict, calibrate: bool):
    """The source run's what-if point at the target's size."""
    from spark_optimizer.analysis.whatif import simulate_app

    result = simulate_app(
        source["app"], source["stages"], source["tasks"], source["jobs"],
        executor_counts=[target["executors"]], cores_per_executor=target["cores"], calibrate=calibrate,
    )
    return result, result.point(target["executors"])


def report(kind: str, runs: list[dict]) -> dict[str, float]:
    from spark_optimizer.analysis.whatif import simulate_app

    print(f"\n=== workload {kind} ===")
    print("runs (wall = ApplicationStart -> ApplicationEnd; busy = union of task intervals; replay@own = the")
    print("simulator at the run's own size, so calib err is the replay's error with nothing extrapolated)")
    print(f"  {'run':6s} {'wall s':>7s} {'driver-only s':>14s} {'busy s':>7s} {'tasks':>6s} {'task-time s':>12s} {'replay@own s':>13s} {'calib err':>9s}")
    for r in runs:
        res = simulate_app(r["app"], r["stages"], r["tasks"], r["jobs"], executor_counts=[r["executors"]])
        task_time = sum(t["duration_ms"] for t in r["tasks"]) / 1000
        print(f"  {r['tag']:6s} {res.observed_wall_ms / 1000:7.1f} {res.driver_only_ms / 1000:14.1f} {res.executor_busy_ms / 1000:7.1f} "
              f"{res.task_count:6d} {task_time:12.1f} {res.simulated_observed_wall_ms / 1000:13.1f} {res.calibration_error:+9.1%}")

    print("noise between repeats of one size (|a - b| / mean of wall time)")
    noise = []
    for size, group in itertools.groupby(sorted(runs, key=_size), key=_size):
        walls = [r["app"]["duration_ms"] for r in group]
        pairs = [abs(a - b) / ((a + b) / 2) for a, b in itertools.combinations(walls, 2)]
        noise += pairs
        print(f"  {size}: walls {[round(w / 1000, 1) for w in walls]} s" + (f", noise {statistics.mean(pairs):.1%}" if pairs else ""))

    print("predicted from the source run at the target's size vs the target run's measured wall time;")
    print("exec = the executor part alone (replayed executor time vs the target's busy time), which leaves")
    print("out the driver-only time the model holds fixed")
    print(f"  {'source':6s} -> {'target':6s} {'measured s':>10s} {'raw s':>7s} {'raw APE':>8s} {'calib s':>8s} {'calib APE':>9s} "
          f"{'exec meas s':>11s} {'exec pred s':>11s} {'exec APE':>8s}")
    apes: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for source, target in itertools.permutations(runs, 2):
        if _size(source) == _size(target):
            continue
        measured = target["app"]["duration_ms"]
        _, raw = predict(source, target, False)
        _, calibrated = predict(source, target, True)
        target_busy = predict(target, target, False)[0].executor_busy_ms
        raw_ape = abs(raw.estimated_wall_ms - measured) / measured
        cal_ape = abs(calibrated.estimated_wall_ms - measured) / measured
        exec_ape = abs(raw.simulated_executor_ms - target_busy) / target_busy
        apes.setdefault((_size(source), _size(target)), []).append((raw_ape, cal_ape, exec_ape))
        print(f"  {source['tag']:6s} -> {target['tag']:6s} {measured / 1000:10.1f} {raw.estimated_wall_ms / 1000:7.1f} {raw_ape:8.1%} "
              f"{calibrated.estimated_wall_ms / 1000:8.1f} {cal_ape:9.1%} {target_busy / 1000:11.1f} "
              f"{raw.simulated_executor_ms / 1000:11.1f} {exec_ape:8.1%}")
    print("mean APE per direction: wall raw / wall calibrated / executor part")

    def means(values: list[tuple[float, float, float]]) -> tuple[float, float, float]:
        return tuple(statistics.mean(v[i] for v in values) if values else float("nan") for i in range(3))

    for (src, dst), values in sorted(apes.items()):
        print(f"  {src} -> {dst}: " + " / ".join(f"{m:6.1%}" for m in means(values)) + f"  ({len(values)} pairs)")
    everything = [v for values in apes.values() for v in values]
    raw_mape, calibrated_mape, exec_mape = means(everything)
    summary = {"raw_mape": raw_mape, "calibrated_mape": calibrated_mape, "exec_mape": exec_mape,
               "repeat_noise": statistics.mean(noise) if noise else float("nan")}
    print(f"  all: {raw_mape:6.1%} / {calibrated_mape:6.1%} / {exec_mape:6.1%}  ({len(everything)} pairs); "
          f"noise between repeats {summary['repeat_noise']:.1%}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", default="main", choices=["main", "run"])
    parser.add_argument("--master")
    parser.add_argument("--tag")
    parser.add_argument("--workload", nargs="+", default=["cpu", "io"], choices=["cpu", "io"])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--configs", nargs="+", default=["1,1", "2,1"], help="executors,cores pairs, e.g. 1,1 2,1 1,2")
    parser.add_argument("--keep", action="store_true", help="keep the logs and warehouse of a temporary folder")
    parser.add_argument("--report-only", action="store_true", help="skip the runs; ingest and report the logs already in folder")
    parser.add_argument("folder", nargs="?", help="where logs and warehouse go (kept); default: a temporary folder")
    args = parser.parse_args()
    if args.role == "run":
        workload(args.workload[0], args.master, Path(args.folder), args.rows, args.tag)
        return
    work = Path(args.folder).resolve() if args.folder else Path(tempfile.mkdtemp(prefix="whatif-benchmark-"))
    log_dir, warehouse = work / "logs", work / "warehouse"
    log_dir.mkdir(parents=True, exist_ok=True)
    configs = [tuple(int(x) for x in c.split(",")) for c in args.configs]
    print(f"workloads {args.workload}, {args.rows:,} rows, sizes {configs}, {args.repeats} repeats, logs in {log_dir}")
    started = time.perf_counter()
    if not args.report_only:
        run_all(args.workload, configs, args.repeats, args.rows, log_dir)
    runs = load_runs(log_dir, warehouse)
    summaries = {kind: report(kind, [r for r in runs if r["kind"] == kind]) for kind in args.workload}
    print("\nsummary: mean APE of wall time raw / calibrated, of the executor part; noise between repeats")
    for kind, s in summaries.items():
        print(f"  {kind:4s} {s['raw_mape']:6.1%} / {s['calibrated_mape']:6.1%} / {s['exec_mape']:6.1%}   noise {s['repeat_noise']:.1%}")
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")
    if not args.keep and not args.folder:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
