"""The driver process: runs corpus runs one after the other, one Spark application each
(`main`, `run_one`), and the orchestrator's handle on it (`DriverClient`).

    python benchmarks/workloads/driver.py --result-fd N      (started by benchmarks/corpus.py)

Reads one JSON run spec per line on stdin, writes one JSON result per line to the file
descriptor --result-fd (stdout and stderr carry Spark's own logging). Each run gets a new
SparkContext on its own `local-cluster[E,C,MB]` master: a standalone Master and E Workers inside
this JVM, each Worker starting one executor JVM. The Python process and the JVM gateway are
reused between runs (saves ~3 s per run; benchmarks/corpus.py restarts the process after a
failure, and every --runs-per-driver runs). Spec fields: run_id, workloads (one for a corpus
run; the warm-up application that corpus.py sends first runs several), master, conf, inputs,
scratch, timeout_s, expected_executors. Result fields: run_id, status (ok|failed),
failure_reason, app_id, wall_ms (the workload's actions), app_wall_ms (SparkContext start to
stop), startup_ms (SparkContext start until all executors registered), cpu_ms (CPU time of the
driver JVM over the application plus the executor JVMs' until the workload ended), started_at,
executors_registered, load_1m (host load average at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.workloads.queries import WORKLOADS  # noqa: E402


def _reason(error: BaseException) -> str:
    """One line: the Java exception's first line when there is one, else the Python error."""
    java = getattr(error, "java_exception", None)
    text = str(java.toString()) if java is not None else f"{type(error).__name__}: {error}"
    return " ".join(text.strip().splitlines()[0].split())[:400]


def _registered_executors(sc, expected: int, wait_s: float = 30.0) -> int:
    """Executors whose block manager has registered. The scheduler lets SparkContext start once
    their cores registered (minRegisteredResourcesRatio), a moment before the block managers, so
    wait a little for them; the driver's own block manager is in the map too."""
    deadline = time.monotonic() + wait_s
    while True:
        count = int(sc._jsc.sc().getExecutorMemoryStatus().size()) - 1
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


def _cpu_ms(pid: int) -> int:
    """utime + stime of one process (/proc/<pid>/stat), in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return round((int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK"))


def _descendants(pid: int) -> list[int]:
    """Live descendants of pid (the executor JVMs that the in-JVM standalone Workers started)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


def _executors_cpu_ms(jvm_pid: int) -> int:
    total = 0
    for pid in _descendants(jvm_pid):
        try:
            total += _cpu_ms(pid)
        except OSError:
            pass
    return total


def _clear_default_resource_profile(jvm) -> None:
    """Spark caches the default ResourceProfile (executor cores and memory) in a JVM-wide object
    that SparkContext.stop() does not reset; without this, every later application in this JVM
    would request the first one's executors (its cores and memory), whatever its own conf says.
    Spark's own test harness resets it the same way between contexts (LocalSparkContext)."""
    getattr(jvm.org.apache.spark.resource, "ResourceProfile$").__getattr__("MODULE$").clearDefaultProfile()


def run_one(spec: dict) -> dict:
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    workloads = [WORKLOADS[name] for name in spec["workloads"]]
    scratch = Path(spec["scratch"])
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    result = {"run_id": spec["run_id"], "status": "failed", "failure_reason": "", "app_id": "", "wall_ms": None,
              "app_wall_ms": None, "startup_ms": None, "executors_registered": 0,
              "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}  # fmt: skip
    conf = SparkConf().setMaster(spec["master"]).setAll(list(spec["conf"].items()))
    jvm_pid = SparkContext._gateway.proc.pid  # spark-submit's script execs the JVM: this is its pid
    driver_cpu_before, executors_cpu_ms = _cpu_ms(jvm_pid), 0
    app_started = time.perf_counter()
    sc = spark = None
    try:
        _clear_default_resource_profile(SparkContext._jvm)
        sc = SparkContext(conf=conf)
        sc.setLogLevel("ERROR")
        spark = SparkSession(sc)
        result["app_id"] = sc.applicationId
        result["executors_registered"] = _registered_executors(sc, spec["expected_executors"])
        result["startup_ms"] = round((time.perf_counter() - app_started) * 1000)
        if result["executors_registered"] < spec["expected_executors"]:
            raise RuntimeError(
                f"only {result['executors_registered']} of {spec['expected_executors']} executors registered "
                f"within spark.scheduler.maxRegisteredResourcesWaitingTime"
            )
        # A run past its time limit has its jobs cancelled; the action then raises and the run is failed.
        watchdog = threading.Timer(spec["timeout_s"], sc.cancelAllJobs)
        watchdog.daemon = True
        watchdog.start()
        started = time.perf_counter()
        try:
            for workload in workloads:
                workload.run(spark, spec["inputs"], scratch)
        finally:
            watchdog.cancel()
        result["wall_ms"] = round((time.perf_counter() - started) * 1000)
        if time.perf_counter() - started > spec["timeout_s"]:
            raise TimeoutError(f"ran longer than the run time limit of {spec['timeout_s']} s")
        result["status"] = "ok"
    except Exception as error:  # a failed run is a result, recorded with its reason
        if time.perf_counter() - app_started > spec["timeout_s"] and "cancel" in str(error).lower():
            result["failure_reason"] = f"timeout: jobs cancelled after {spec['timeout_s']} s"
        else:
            result["failure_reason"] = _reason(error)
        result["wall_ms"] = None
    finally:
        if sc is not None:
            executors_cpu_ms = _executors_cpu_ms(jvm_pid)  # before stop() ends the executor JVMs
        if spark is not None:
            spark.stop()  # also clears the JVM's default and active SparkSession
        elif sc is not None:
            sc.stop()
        result["app_wall_ms"] = round((time.perf_counter() - app_started) * 1000)
        result["cpu_ms"] = _cpu_ms(jvm_pid) - driver_cpu_before + executors_cpu_ms
        result["load_1m"] = round(os.getloadavg()[0], 2)
        shutil.rmtree(scratch, ignore_errors=True)
    return result


class DriverClient:
    """The orchestrator's handle on one driver process: run specs go to its stdin, results come
    back on a pipe of their own, so Spark's logging on stdout/stderr cannot interleave. The process
    leads its own process group, so that killing it also ends the executor JVMs it started."""

    def __init__(self, log_path: Path, env: dict[str, str], driver_memory: str):
        read_fd, write_fd = os.pipe()
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--result-fd", str(write_fd), "--driver-memory", driver_memory],
            stdin=subprocess.PIPE, stdout=self._log, stderr=subprocess.STDOUT, pass_fds=(write_fd,),
            env=env, start_new_session=True, text=True,
        )  # fmt: skip
        os.close(write_fd)
        self._results = os.fdopen(read_fd, "r")
        self.runs = 0

    def alive(self) -> bool:
        return self.proc.poll() is None

    def run(self, spec: dict, limit_s: float) -> dict | str:
        """The run's result, or why there is none (the process died, or passed limit_s and was killed)."""
        self.runs += 1
        try:
            self.proc.stdin.write(json.dumps(spec) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return f"driver process exited with code {self.proc.wait()}"
        ready, _, _ = select.select([self._results], [], [], limit_s)
        line = self._results.readline() if ready else ""
        if line:
            return json.loads(line)
        if not ready:
            self.kill()
            return f"timeout: no result after {limit_s:.0f} s, driver process killed"
        return f"driver process exited with code {self.proc.wait()}"

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def close(self, graceful: bool = True) -> None:
        """Let the process finish (end of input) or, when not graceful, kill it with its JVMs."""
        if self.alive():
            if graceful:
                self.proc.stdin.close()
                try:
                    self.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    self.kill()
            else:
                self.kill()
        self._results.close()
        self._log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--result-fd", type=int, required=True)
    parser.add_argument("--driver-memory", default="2g")
    args = parser.parse_args()
    from pyspark import SparkConf, SparkContext

    # Start the JVM gateway now, so that no run's app_wall_ms includes the driver JVM's launch.
    SparkContext._ensure_initialized(conf=SparkConf().set("spark.driver.memory", args.driver_memory))
    with os.fdopen(args.result_fd, "w", buffering=1) as results:
        for line in sys.stdin:
            if not line.strip():
                continue
            result = run_one(json.loads(line))
            results.write(json.dumps(result) + "\n")
            results.flush()


if __name__ == "__main__":
    main()
