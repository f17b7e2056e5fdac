"""Cold-start latency of `spark-optimizer recommend` (a new interpreter per run, as a user types it),
beside `python -c pass` measured in the same run on the same machine.

    python benchmarks/cli_latency.py --warehouse ./spark-optimizer-warehouse [--repeats 15] [-- --job-type etl --input-size 10GB]

The warehouse needs a recommendations table (`spark-optimizer quickstart` builds one). Two formats are
timed: `--format spark-submit` (the lookup alone) and the default rich table (the lookup plus rendering).
The command is the console script installed beside this interpreter, the same environment as the
`python -c pass` baseline; a version manager's shim found first on PATH (pyenv's is a bash script that
runs `pyenv exec`) adds its own start-up to every run, so it is not used unless `--executable` names it.
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


TARGET_MS = 500  # issue 5: "cold start under 0.5 s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", default="./spark-optimizer-warehouse")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--executable", help="the spark-optimizer to time (default: the one beside this python, else PATH)")
    parser.add_argument("args", nargs="*", help="recommend arguments (default: --job-type of the first row, --input-size 10GB)")
    options = parser.parse_args()
    executable = options.executable or _console_script()
    args = options.args or ["--job-type", _some_job_type(options.warehouse), "--input-size", "10GB"]
    base = [executable, "recommend", "--warehouse", options.warehouse]
    commands = {"python -c pass": [sys.executable, "-c", "pass"],
                "recommend --format spark-submit": [*base, "--format", "spark-submit", *args],
                "recommend (rich table)": [*base, "--format", "table", *args]}
    for command in commands.values():
        timed(command, 2)  # warm the page cache: we measure interpreter and import time, not the disk
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(options.repeats):  # interleaved so load on the host falls on all alike
        for name, command in commands.items():
            times[name] += timed(command, 1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{options.repeats} runs each, interleaved, {os.cpu_count()} cores, load average {load:.1f}")
    baseline = statistics.median(times["python -c pass"])
    for name, values in times.items():
        median = statistics.median(values)
        over = "" if name == "python -c pass" else \
            f"  {(median - baseline) * 1000:+6.1f} over the interpreter; {'under' if median * 1000 < TARGET_MS else 'OVER'} {TARGET_MS} ms"
        print(f"{name:32s} median {median * 1000:7.1f} ms  (min {min(values) * 1000:6.1f}){over}")
    print(f"command: {' '.join(commands['recommend --format spark-submit'])}")
    on_path = shutil.which("spark-optimizer")
    if on_path and not options.executable and os.path.realpath(on_path) != os.path.realpath(executable):
        print(f"note: PATH resolves spark-optimizer to {on_path}, not timed (a shim adds its own start-up; --executable times it)")


def _console_script() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "spark-optimizer")
    if os.path.isfile(beside):
        return beside
    return shutil.which("spark-optimizer") or sys.exit("spark-optimizer is not installed: pip install -e .")


def _some_job_type(warehouse: str) -> str:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from spark_optimizer.config import load_settings
    from spark_optimizer.recommender.lookup import latest_build, read_rows

    rows = latest_build(read_rows(load_settings(warehouse=warehouse)))
    return next(r["job_type"] for r in rows if r["level"] == "job_type")


if __name__ == "__main__":
    main()
