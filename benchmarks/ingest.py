"""End-to-end ingestion throughput, measured against Spark's own History Server.

    python benchmarks/ingest.py [--copies 8] [--tasks 28000] [--keep]
    python benchmarks/ingest.py --copies 11 105 --no-history-server   # driver memory at ~1 and ~10 GB

1. Generates one large, real, uncompressed event log by running a many-task local Spark job
   in its own process (cached under --cache-dir, keyed by --tasks).
2. Copies it --copies times under distinct application ids (the App ID of the
   ApplicationStart line is rewritten; the file is streamed, never held in memory).
3. Times our ingestion (`ingest_event_logs` into a fresh warehouse) in a subprocess:
   interpreter + SparkContext start-up and ingestion are reported separately; the process
   exits as the CLI does (no explicit SparkContext.stop()), and both the moment it returned
   and the moment its JVM had exited are reported; the peak RSS of the driver, its JVM and the
   Python workers is sampled from /proc meanwhile.
4. Starts the real History Server over the same folder and times its replay: the first
   /api/v1/applications/<id>/stages request of each app, one app after the other (the
   History Server parses an application lazily, on first request).

With several --copies counts, steps 2-3 run once per count (ascending, the folder grows) and a
last table shows the driver's peak memory at each size and its ratio to the smallest: the
driver's memory is bounded per batch, so it should not grow with the input.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "BENCH_RESULT "
APP_START = b'{"Event":"SparkListenerApplicationStart"'


# ---- 1. the event log ---------------------------------------------------------------

def generate_log(out_dir: Path, tasks: int) -> None:
    """Runs in its own process: a Spark app whose uncompressed event log lands in out_dir."""
    from pyspark.sql import SparkSession, functions as F

    maps, reduces = min(2000, max(2, tasks // 10)), min(200, max(1, tasks // 100))
    spark = (
        SparkSession.builder.master("local[2]").appName("spark-optimizer-benchmark")
        .config("spark.eventLog.enabled", "true").config("spark.eventLog.dir", f"file:{out_dir}")
        .config("spark.eventLog.compress", "false").config("spark.eventLog.rolling.enabled", "false")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "false").config("spark.sql.shuffle.partitions", str(reduces))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    # One shuffle (map and reduce tasks with shuffle metrics), then many narrow tasks.
    (spark.range(0, maps * 1000, numPartitions=maps).selectExpr("id % 997 AS k", "id AS v")
     .groupBy("k").agg(F.sum("v")).write.format("noop").mode("overwrite").save())
    remaining = tasks - maps - reduces
    while remaining > 0:
        n = min(4000, remaining)
        spark.range(0, n * 1000, numPartitions=n).selectExpr("id % 7 AS k").write.format("noop").mode("overwrite").save()
        remaining -= n
    spark.stop()


def cached_log(cache_dir: Path, tasks: int) -> Path:
    folder = cache_dir / f"log-{tasks}-tasks"
    logs = [p for p in folder.glob("local-*") if not p.name.endswith(".inprogress")] if folder.is_dir() else []
    if (folder / "COMPLETE").exists() and len(logs) == 1:
        print(f"reusing cached event log {logs[0]}")
        return logs[0]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"generating an event log of {tasks} tasks in {folder} ...", flush=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--role", "generate", "--tasks", str(tasks), str(folder)], check=True)
    logs = [p for p in folder.glob("local-*") if not p.name.endswith(".inprogress")]
    if len(logs) != 1:
        raise SystemExit(f"expected one finished event log in {folder}, found {logs}")
    (folder / "COMPLETE").touch()
    print(f"  generated {logs[0].stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.0f} s")
    return logs[0]


# ---- 2. copies under distinct app ids -------------------------------------------------

def make_copies(raw: Path, copies: int, folder: Path, first: int = 0, codec: str = "none") -> list[str]:
    """Copies number `first`..`copies - 1` of `raw` in `folder`; returns their app ids. With
    codec "zstd", each copy is a `.zstd` log as Spark writes it: its first lines (the App ID
    rewritten) and the rest compressed as two zstd frames, the rest compressed once for all."""
    base = int(raw.name.split("-", 1)[1])
    app_ids = []
    if codec == "zstd":
        import zstandard

        with raw.open("rb") as src:
            head = []
            for line in src:
                head.append(line)
                if line.startswith(APP_START):
                    break
            body = zstandard.ZstdCompressor(level=1).compress(src.read())
        for i in range(first, copies):
            app_id = f"local-{base + 1 + i}"
            event = json.loads(head[-1])
            event["App ID"] = app_id
            lines = b"".join(head[:-1]) + json.dumps(event, separators=(",", ":")).encode() + b"\n"
            (folder / f"{app_id}.zstd").write_bytes(zstandard.ZstdCompressor(level=1).compress(lines) + body)
            app_ids.append(app_id)
        return app_ids
    for i in range(first, copies):
        app_id = f"local-{base + 1 + i}"
        with raw.open("rb") as src, (folder / app_id).open("wb") as dst:
            for line in src:
                if line.startswith(APP_START):
                    event = json.loads(line)
                    event["App ID"] = app_id
                    dst.write(json.dumps(event, separators=(",", ":")).encode() + b"\n")
                    break
                dst.write(line)
            else:
                raise SystemExit(f"{raw} has no SparkListenerApplicationStart line")
            shutil.copyfileobj(src, dst, 1 << 20)
        app_ids.append(app_id)
    return app_ids


# ---- 3. our ingestion -----------------------------------------------------------------

def ingest_role(folder: Path, warehouse: Path) -> None:
    """Runs in its own process; prints one JSON line with its timings."""
    t0 = time.perf_counter()
    from datetime import datetime, timezone

    from spark_optimizer.config import load_settings
    from spark_optimizer.context import AppContext
    from spark_optimizer.eventlog.ingest import ingest_event_logs

    # As `spark-optimizer collect` does: the SparkContext only, no Spark SQL session.
    ctx = AppContext(load_settings(warehouse=str(warehouse), spark_master="local[2]", environ={}))
    ctx.spark_context.setLogLevel("ERROR")
    t1 = time.perf_counter()
    settings = ctx.settings
    summary = ingest_event_logs(ctx.spark_context, ctx.store, str(folder), datetime.now(timezone.utc),
                                batch_size=settings.ingest_batch_size, batch_bytes=settings.ingest_batch_mb * 1024 * 1024,
                                batch_rows=settings.ingest_batch_rows)
    t2 = time.perf_counter()
    result = {
        "startup_s": t1 - t0, "ingest_s": t2 - t1, "cores": ctx.spark_context.defaultParallelism,
        "summary": summary.as_dict(), "phases": summary.seconds,
        "driver_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "uncompressed_bytes": sum(r["uncompressed_bytes"] or 0 for r in summary.records),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    # Exit as the CLI does (spark_optimizer.cli.main): no explicit stop; the JVM stops the
    # SparkContext from its shutdown hook once this process has ended.
    os._exit(0)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _proc_table() -> dict[int, tuple[int, str, int, int]]:
    """pid -> (ppid, cmdline, VmRSS kB, VmHWM kB) of every process we can read."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        kb = lambda k: int(fields.get(k, "0 kB").split()[0])  # noqa: E731
        table[int(entry)] = (int(fields["PPid"]), cmd, kb("VmRSS"), kb("VmHWM"))
    return table


class TreeSampler(threading.Thread):
    """Samples the process tree under `root`: peak RSS per role (driver, jvm, python workers)."""

    def __init__(self, root: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.root, self.interval, self.done = root, interval, threading.Event()
        self.hwm: dict[int, tuple[str, int]] = {}
        self.cpu: dict[int, float] = {}  # last CPU seconds seen per process of the tree
        self.workers_sum_peak_kb = 0

    def run(self) -> None:
        while not self.done.is_set():
            table = _proc_table()
            tree, frontier = {self.root}, [self.root]
            while frontier:
                parent = frontier.pop()
                children = [pid for pid, row in table.items() if row[0] == parent]
                tree.update(children)
                frontier.extend(children)
            workers_now = 0
            for pid in tree & table.keys():
                _, cmd, rss, hwm = table[pid]
                role = "driver" if pid == self.root else "jvm" if "java" in cmd.split(" ", 1)[0] else "python worker"
                self.hwm[pid] = (role, max(hwm, self.hwm.get(pid, ("", 0))[1]))
                workers_now += rss if role == "python worker" else 0
                try:
                    self.cpu[pid] = cpu_seconds(pid)
                except (OSError, IndexError, ValueError):
                    pass
            self.workers_sum_peak_kb = max(self.workers_sum_peak_kb, workers_now)
            self.done.wait(self.interval)

    def cpu_by_role(self) -> dict[str, float]:
        """CPU seconds last sampled per role (a process's final moments after its last sample are missed)."""
        totals: dict[str, float] = {}
        for pid, seconds in self.cpu.items():
            role = self.hwm.get(pid, ("other", 0))[0]
            totals[role] = totals.get(role, 0.0) + seconds
        return totals

    def peak_mb(self, role: str) -> float:
        return max((hwm for r, hwm in self.hwm.values() if r == role), default=0) / 1024


def run_ours(folder: Path, warehouse: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--role", "ingest", str(folder), str(warehouse)],
                            stdout=subprocess.PIPE, text=True, env=env)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    out = ""
    for line in proc.stdout:
        out += line
        if line.startswith(RESULT_PREFIX):
            break
    proc.wait()
    wall = time.perf_counter() - started  # the command has returned
    out += proc.stdout.read()  # EOF once the JVM, which shares the pipe, has exited too
    jvm_exited = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    # The tree's CPU time: what exited processes used reaches their waiting parent, and the
    # driver is waited for here; sampled figures cover the JVM and workers, which exit with it.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"ingestion subprocess exited {proc.returncode}")
    result = json.loads(next(l for l in out.splitlines() if l.startswith(RESULT_PREFIX))[len(RESULT_PREFIX):])
    children_cpu = children.ru_utime + children.ru_stime - before.ru_utime - before.ru_stime
    result.update(cpu_s=max(children_cpu, sum(sampler.cpu.values())), cpu_by_role=sampler.cpu_by_role(),
                  wall_s=wall, jvm_exit_s=jvm_exited, jvm_peak_mb=sampler.peak_mb("jvm"),
                  worker_peak_mb=sampler.peak_mb("python worker"),
                  workers_sum_peak_mb=sampler.workers_sum_peak_kb / 1024, driver_sampled_peak_mb=sampler.peak_mb("driver"))
    return result


# ---- 4. the History Server --------------------------------------------------------------

def run_history_server(folder: Path, app_ids: list[str], memory: str) -> dict:
    sys.path.insert(0, str(REPO))
    from tests.fakes.history_server import LocalHistoryServer

    started = time.perf_counter()
    with LocalHistoryServer(folder, expected_apps=len(app_ids), daemon_memory=memory, startup_timeout=300) as hs:
        listed = time.perf_counter()
        cpu_before = cpu_seconds(hs.pid)
        per_app = []
        for app_id in app_ids:
            t = time.perf_counter()
            stages = hs.get_json(f"/api/v1/applications/{app_id}/stages", timeout=900)
            per_app.append(time.perf_counter() - t)
            assert stages, f"the History Server returned no stage for {app_id}"
        replay_cpu = cpu_seconds(hs.pid) - cpu_before
        hwm = next((int(l.split()[1]) for l in Path(f"/proc/{hs.pid}/status").read_text().splitlines()
                    if l.startswith("VmHWM:")), 0)
    return {"startup_and_listing_s": listed - started, "replay_s": sum(per_app), "per_app_s": per_app,
            "replay_cpu_s": replay_cpu, "jvm_peak_mb": hwm / 1024}


# ---- report -------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, nargs="+", default=[8],
                        help="copies of the log, each a distinct app (default 8); several counts: one ingestion each")
    parser.add_argument("--no-history-server", action="store_true", help="time our ingestion only")
    parser.add_argument("--tasks", type=int, default=28000, help="tasks of the generated app (default 28000, ~100 MB)")
    parser.add_argument("--log", type=Path, help="copy this uncompressed single-file event log (named local-<digits>) "
                        "instead of generating one; a rolling log's parts concatenated in order are one")
    parser.add_argument("--codec", choices=("none", "zstd"), default="none",
                        help="store the copies uncompressed (default) or zstd-compressed, as Spark 4 does by default")
    parser.add_argument("--keep", action="store_true", help="keep the copies and the warehouse")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "spark-optimizer-bench")
    parser.add_argument("--hs-memory", default="2g", help="History Server heap (SPARK_DAEMON_MEMORY)")
    parser.add_argument("--role", choices=("generate", "ingest"), help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "generate":
        return generate_log(args.paths[0].resolve(), args.tasks)
    if args.role == "ingest":
        return ingest_role(args.paths[0], args.paths[1])

    counts = sorted(set(args.copies))
    raw = args.log.resolve() if args.log else cached_log(args.cache_dir, args.tasks)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=args.cache_dir))
    logs = work / "logs"
    logs.mkdir()
    sizes: list[tuple[int, float, dict]] = []
    try:
        app_ids: list[str] = []
        for count in counts:
            app_ids += make_copies(raw, count, logs, first=len(app_ids), codec=args.codec)
            stored_mb = sum(p.stat().st_size for p in logs.iterdir()) / 1e6
            total_mb = raw.stat().st_size * count / 1e6
            print(f"{count} copies of {raw.name} ({raw.stat().st_size / 1e6:.1f} MB each, uncompressed; "
                  f"{stored_mb:.1f} MB stored, codec {args.codec}) in {logs}")
            print("our ingestion ...", flush=True)
            sizes.append((count, total_mb, run_ours(logs, work / f"warehouse-{count}")))
            shutil.rmtree(work / f"warehouse-{count}", ignore_errors=True)
        hs = None
        if not args.no_history_server and args.codec == "none":
            print("History Server replay ...", flush=True)
            hs = run_history_server(logs, app_ids, args.hs_memory)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    count, total_mb, ours = sizes[-1]
    report(count, total_mb, ours, hs)
    if len(sizes) > 1:
        report_memory(sizes)
    if args.keep:
        print(f"kept {work}")


def report(copies: int, total_mb: float, ours: dict, hs: dict | None) -> None:
    cores = ours["cores"]
    ours_mbps, ours_e2e_mbps = total_mb / ours["ingest_s"], total_mb / ours["wall_s"]
    phases = ", ".join(f"{k} {v:.1f}" for k, v in ours["phases"].items())
    print(f"""
== event logs ==
  total uncompressed        {total_mb:10.1f} MB  ({copies} apps, {ours['summary']})
== ours (ingest_event_logs, local[{cores}]) ==
  process wall time         {ours['wall_s']:10.1f} s   (until the process returned; interpreter + imports + SparkContext: {ours['startup_s']:.1f} s)
  until the JVM had exited  {ours['jvm_exit_s']:10.1f} s   (its shutdown hook stops Spark after our process ends)
  ingestion alone           {ours['ingest_s']:10.1f} s   (phases, s: {phases})
  throughput                {ours_mbps:10.1f} MB/s  ({ours_mbps / cores:.1f} MB/s per core, {cores} cores)
  end to end incl. start-up {ours_e2e_mbps:10.1f} MB/s  ({ours_e2e_mbps / cores:.1f} MB/s per core)
  CPU time, whole process tree {ours['cpu_s']:7.1f} s   ({total_mb / ours['cpu_s']:.1f} MB per CPU-second, start-up included)
  CPU time by process       {', '.join(f'{role} {seconds:.1f} s' for role, seconds in sorted(ours['cpu_by_role'].items()))}  (sampled)
  peak RSS driver python    {ours['driver_maxrss_kb'] / 1024:10.0f} MB  (getrusage; sampled {ours['driver_sampled_peak_mb']:.0f} MB)
  peak RSS JVM              {ours['jvm_peak_mb']:10.0f} MB  (sampled VmHWM)
  peak RSS python worker    {ours['worker_peak_mb']:10.0f} MB  (largest single worker; all workers at once {ours['workers_sum_peak_mb']:.0f} MB)""")
    if hs is None:
        return
    hs_mbps = total_mb / hs["replay_s"]
    print(f"""== Spark History Server (1 replay thread, first /stages request per app, sequential) ==
  start-up + listing        {hs['startup_and_listing_s']:10.1f} s
  replay                    {hs['replay_s']:10.1f} s   (per app: {', '.join(f'{s:.1f}' for s in hs['per_app_s'])})
  throughput                {hs_mbps:10.1f} MB/s  (one replay thread = one core)
  CPU time of the replay    {hs['replay_cpu_s']:10.1f} s   ({total_mb / hs['replay_cpu_s']:.1f} MB per CPU-second; JIT and GC threads included)
  peak RSS JVM              {hs['jvm_peak_mb']:10.0f} MB
== ratio, ours / History Server ==
  per core, end to end      {ours_e2e_mbps / cores / hs_mbps:10.2f} x  (the issue's target: >= 1, goal 2)
  the same, until JVM exit  {total_mb / ours['jvm_exit_s'] / cores / hs_mbps:10.2f} x
  per core, ingestion alone {ours_mbps / cores / hs_mbps:10.2f} x
  in total, end to end      {ours_e2e_mbps / hs_mbps:10.2f} x  (ingestion alone {ours_mbps / hs_mbps:.2f} x)
  per CPU-second            {(total_mb / ours['cpu_s']) / (total_mb / hs['replay_cpu_s']):10.2f} x  (ours start-up included)""")


def report_memory(sizes: list[tuple[int, float, dict]]) -> None:
    """The driver's peak memory at each input size, and its ratio to the smallest input's."""
    smallest = sizes[0][2]["driver_maxrss_kb"]
    print("== driver peak RSS by input size (getrusage) ==")
    for copies, total_mb, ours in sizes:
        peak = ours["driver_maxrss_kb"]
        print(f"  {copies:4d} copies, {total_mb / 1000:6.2f} GB  driver {peak / 1024:6.0f} MB "
              f"(x{peak / smallest:.2f} of the smallest; JVM {ours['jvm_peak_mb']:.0f} MB, "
              f"ingestion {ours['ingest_s']:.1f} s, {ours['summary']['ingested']} ingested)")
    print(f"  ratio, largest / smallest input: input x{sizes[-1][1] / sizes[0][1]:.1f}, "
          f"driver peak x{sizes[-1][2]['driver_maxrss_kb'] / smallest:.2f}")

if __name__ == "__main__":
    main()
