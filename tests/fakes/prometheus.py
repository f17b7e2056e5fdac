"""Run the real Prometheus server (/usr/bin/prometheus) against local scrape targets.

For tests of the metrics collector::

    with LocalPrometheus([("spark-executors", "127.0.0.1:4040", "/metrics/executors/prometheus"),
                          ("spark-driver", "127.0.0.1:4040", "/metrics/prometheus/")]) as prom:
        prom.wait_for_series('metrics_executor_activeTasks')
        prom.url   # 'http://127.0.0.1:<port>'
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Sequence

from tests.fakes.history_server import _alive, free_port

PROMETHEUS_BINARY = os.environ.get("PROMETHEUS_BINARY", "/usr/bin/prometheus")


class PrometheusError(RuntimeError):
    """Prometheus did not start, or did not answer in time."""


def _jobs(scrape_targets: Sequence[Any], metrics_path: str) -> list[tuple[str, str, str]]:
    """Targets as (job_name, host:port, path): plain 'host:port' strings use `metrics_path`."""
    jobs = []
    for i, target in enumerate(scrape_targets):
        if isinstance(target, str):
            jobs.append((f"job{i}", target, metrics_path))
        else:
            name, host_port, path = target
            jobs.append((str(name), str(host_port), str(path)))
    names = [j[0] for j in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"scrape job names must be unique, got {names}")
    return jobs


class LocalPrometheus:
    """Prometheus on 127.0.0.1:<free port> with a private config and TSDB folder, stopped by PID.

    `scrape_targets` holds 'host:port' strings (scraped at `metrics_path`) and/or
    (job_name, 'host:port', path) tuples, for endpoints with different paths."""

    def __init__(self, scrape_targets: Sequence[Any], metrics_path: str = "/metrics", scrape_interval: str = "1s",
                 *, port: int | None = None, startup_timeout: float = 30.0, binary: str = PROMETHEUS_BINARY):
        self.jobs = _jobs(scrape_targets, metrics_path)
        self.scrape_interval = scrape_interval
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.binary = binary
        self.url = f"http://127.0.0.1:{self.port}"
        self.pid: int | None = None
        self._proc: subprocess.Popen | None = None
        self._work: Path | None = None

    def config_text(self) -> str:
        # JSON is valid YAML: no YAML library needed.
        config = {
            "global": {"scrape_interval": self.scrape_interval, "scrape_timeout": self.scrape_interval,
                       "evaluation_interval": self.scrape_interval},
            "scrape_configs": [
                {"job_name": name, "metrics_path": path, "scheme": "http",
                 "static_configs": [{"targets": [target]}]}
                for name, target, path in self.jobs
            ],
        }
        return json.dumps(config, indent=2)

    # ---- life cycle -----------------------------------------------------------------
    def start(self) -> "LocalPrometheus":
        if not (os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)):
            raise PrometheusError(f"{self.binary} is not an executable Prometheus server (apt-get install prometheus)")
        work = self._work = Path(tempfile.mkdtemp(prefix="local-prometheus-"))
        (work / "data").mkdir()
        config = work / "prometheus.yml"
        config.write_text(self.config_text())
        log = open(work / "prometheus.log", "wb")
        try:
            self._proc = subprocess.Popen(
                [self.binary, f"--config.file={config}", f"--storage.tsdb.path={work / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle",
                 "--storage.tsdb.retention.time=1d"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=work)
        finally:
            log.close()
        self.pid = self._proc.pid
        deadline = time.monotonic() + self.startup_timeout
        last: object = "no answer"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._fail(f"prometheus exited with code {self._proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return self
                    last = f"HTTP {response.status}"
            except (urllib.error.URLError, OSError) as exc:
                last = exc
            time.sleep(0.1)
        self._fail(f"/-/ready did not answer 200 within {self.startup_timeout:.0f}s (last: {last})")
        return self

    def stop(self, timeout: float = 15.0) -> None:
        pid, self.pid = self.pid, None
        if pid is not None and _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(pid) and time.monotonic() < deadline:
                if self._proc is not None:
                    self._proc.poll()  # reap the child so it does not stay a zombie
                time.sleep(0.05)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self._proc = None
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    def __enter__(self) -> "LocalPrometheus":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        path = self._work / "prometheus.log" if self._work else None
        if path is None or not path.exists():
            return "(no log file)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _fail(self, message: str) -> None:
        tail = self.log_tail()
        self.stop()
        raise PrometheusError(f"Prometheus on port {self.port}: {message}\n--- tail of its log ---\n{tail}")

    # ---- HTTP API -------------------------------------------------------------------
    def api(self, path: str, params: dict[str, Any] | None = None, timeout: float = 10.0) -> Any:
        """GET /api/v1/<path> and return its `data`."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path.lstrip('/')}{query}", timeout=timeout) as response:
            answer = json.loads(response.read())
        if answer.get("status") != "success":
            raise PrometheusError(f"/api/v1/{path} answered {answer}")
        return answer["data"]

    def targets_health(self) -> dict[str, str]:
        data = self.api("targets")
        return {t["labels"].get("job", "?"): f"{t['health']} {t.get('lastError', '')}".strip()
                for t in data.get("activeTargets", [])}

    def wait_for_series(self, query: str, timeout: float = 30.0, min_results: int = 1) -> list[dict]:
        """Poll an instant query until it returns at least `min_results` series; returns them."""
        deadline = time.monotonic() + timeout
        last: object = "no answer"
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise PrometheusError(f"prometheus exited with code {self._proc.returncode}\n{self.log_tail()}")
            try:
                result = self.api("query", {"query": query})["result"]
                if len(result) >= min_results:
                    return result
                last = f"{len(result)} series"
            except (urllib.error.URLError, OSError, ValueError, PrometheusError) as exc:
                last = exc
            time.sleep(0.25)
        try:
            health = self.targets_health()
        except Exception as exc:  # diagnostics only
            health = {"?": str(exc)}
        raise PrometheusError(f"query {query!r} had no {min_results} series after {timeout:.0f}s "
                              f"(last: {last}; targets: {health})")
