"""Run the real Spark History Server of the installed pyspark over a folder of event logs.

For tests and benchmarks that compare our figures with what Spark itself reports::

    with LocalHistoryServer("/tmp/logs", expected_apps=3) as hs:
        apps = hs.get_json("/api/v1/applications")
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

HS_CLASS = "org.apache.spark.deploy.history.HistoryServer"


class HistoryServerError(RuntimeError):
    """The History Server did not start, or did not answer in time."""


def spark_home() -> Path:
    """The installed pyspark package folder, which holds sbin/ and jars/."""
    import pyspark

    home = Path(pyspark.__file__).resolve().parent
    for script in ("sbin/start-history-server.sh", "sbin/spark-daemon.sh", "bin/spark-class"):
        if not (home / script).is_file():
            raise HistoryServerError(f"{home / script} is missing: this pyspark install has no History Server scripts")
    for script in ("sbin/spark-daemon.sh", "bin/spark-class"):  # the start script executes these directly
        if not os.access(home / script, os.X_OK):
            raise HistoryServerError(f"{home / script} is not executable; run: chmod +x {home}/sbin/*.sh {home}/bin/*")
    return home


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


class LocalHistoryServer:
    """The Spark History Server bound to 127.0.0.1 on a free port, with private conf/log/pid folders."""

    def __init__(self, log_dir: str | Path, port: int | None = None, *, expected_apps: int | None = None,
                 startup_timeout: float = 90.0, daemon_memory: str = "1g", conf: dict[str, str] | None = None):
        self.log_dir = Path(log_dir).resolve()
        self.port = port or free_port()
        self.expected_apps = expected_apps
        self.startup_timeout = startup_timeout
        self.daemon_memory = daemon_memory
        self.conf = dict(conf or {})
        self.url = f"http://127.0.0.1:{self.port}"
        self.pid: int | None = None
        self._work: Path | None = None

    # ---- life cycle -----------------------------------------------------------------
    def start(self, expected_apps: int | None = None) -> "LocalHistoryServer":
        expected = self.expected_apps if expected_apps is None else expected_apps
        home = spark_home()
        work = self._work = Path(tempfile.mkdtemp(prefix="spark-history-server-"))
        for sub in ("conf", "logs", "pids"):
            (work / sub).mkdir()
        props = {
            "spark.history.fs.logDirectory": f"file:{self.log_dir}",
            "spark.history.ui.port": str(self.port),
            "spark.history.fs.update.interval": "1s",
            "spark.history.fs.cleaner.enabled": "false",
            "spark.port.maxRetries": "0",  # fail instead of silently moving to another port
            **self.conf,
        }
        (work / "conf" / "spark-defaults.conf").write_text("".join(f"{k} {v}\n" for k, v in props.items()))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))}
        env.update(SPARK_HOME=str(home), SPARK_CONF_DIR=str(work / "conf"), SPARK_LOG_DIR=str(work / "logs"),
                   SPARK_PID_DIR=str(work / "pids"), SPARK_IDENT_STRING=f"hs{self.port}",
                   SPARK_LOCAL_IP="127.0.0.1", SPARK_DAEMON_MEMORY=self.daemon_memory)
        result = subprocess.run(["bash", str(home / "sbin" / "start-history-server.sh")], env=env,
                                capture_output=True, text=True, timeout=120)
        pid_files = list((work / "pids").glob("*.pid"))
        if pid_files:
            self.pid = int(pid_files[0].read_text().strip())
        if result.returncode != 0 or self.pid is None:
            self._fail(f"start-history-server.sh exited {result.returncode}: {result.stdout}{result.stderr}")
        try:
            self.wait_for("/api/v1/applications", lambda apps: expected is None or len(apps) >= expected,
                          timeout=self.startup_timeout)
        except HistoryServerError as exc:
            self._fail(str(exc))
        return self

    def stop(self, timeout: float = 20.0) -> None:
        pid, self.pid = self.pid, None
        if pid is not None and _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    def __enter__(self) -> "LocalHistoryServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 60) -> str:
        logs = sorted((self._work / "logs").glob("*.out")) if self._work else []
        return "\n".join(logs[0].read_text(errors="replace").splitlines()[-lines:]) if logs else "(no log file)"

    def _fail(self, message: str) -> None:
        tail = self.log_tail()
        self.stop()
        raise HistoryServerError(f"History Server over {self.log_dir} on port {self.port}: {message}\n"
                                 f"--- tail of its log ---\n{tail}")

    # ---- REST -----------------------------------------------------------------------
    def get_json(self, path: str, timeout: float = 60.0) -> Any:
        """GET `path` (e.g. '/api/v1/applications') and decode the JSON answer."""
        with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
            return json.loads(response.read())

    def wait_for(self, path: str, predicate: Callable[[Any], bool] | None = None, timeout: float = 60.0) -> Any:
        """Poll `path` until it answers (and `predicate` accepts the answer); returns the answer."""
        deadline = time.monotonic() + timeout
        last: object = "no answer"
        while time.monotonic() < deadline:
            if self.pid is not None and not _alive(self.pid):
                raise HistoryServerError(f"the History Server process {self.pid} exited")
            try:
                answer = self.get_json(path, timeout=max(1.0, deadline - time.monotonic()))
                if predicate is None or predicate(answer):
                    return answer
                last = f"answer not accepted yet: {str(answer)[:300]}"
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = exc
            time.sleep(0.2)
        raise HistoryServerError(f"{path} not ready after {timeout:.0f}s (last: {last})")
