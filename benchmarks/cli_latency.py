"""Cold-start latency of `spark-optimizer recommend` (a new interpreter per run, as a user types it),
beside `python -c pass` measured in the same run on the same machine.

    python benchmarks/cli_latency.py --warehouse ./spark-optimizer-warehouse [--repeats 15] [-- --job-type etl --input-size 10GB]

The warehouse needs a recommendations table (`spark-optimizer quickstart` builds one).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time


def timed(command: list[str], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", default="./spark-optimizer-warehouse")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("args", nargs="*", help="recommend arguments (default: --job-type of the first row, --input-size 10GB)")
    options = parser.parse_args()
    executable = shutil.which("spark-optimizer") or sys.exit("spark-optimizer is not on PATH: pip install -e .")
    args = options.args or ["--job-type", _some_job_type(options.warehouse), "--input-size", "10GB"]
    command = [executable, "recommend", "--warehouse", options.warehouse, "--format", "spark-submit", *args]
    timed(command, 2)  # warm the page cache: we measure interpreter and import time, not the disk
    baseline, ours = [], []
    for _ in range(options.repeats):  # interleaved so load on the host falls on both alike
        baseline += timed([sys.executable, "-c", "pass"], 1)
        ours += timed(command, 1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{options.repeats} runs each, {os.cpu_count()} cores, load average {load:.1f}")
    print(f"python -c pass                 median {statistics.median(baseline) * 1000:7.1f} ms  (min {min(baseline) * 1000:.1f})")
    print(f"spark-optimizer recommend      median {statistics.median(ours) * 1000:7.1f} ms  (min {min(ours) * 1000:.1f})")
    print(f"over the bare interpreter      median {(statistics.median(ours) - statistics.median(baseline)) * 1000:7.1f} ms")
    print(f"command: {' '.join(command)}")


def _some_job_type(warehouse: str) -> str:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from spark_optimizer.config import load_settings
    from spark_optimizer.recommend.lookup import latest_build, read_rows

    rows = latest_build(read_rows(load_settings(warehouse=warehouse)))
    return next(r["job_type"] for r in rows if r["level"] == "job_type")


if __name__ == "__main__":
    main()
