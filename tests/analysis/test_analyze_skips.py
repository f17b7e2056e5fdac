"""analyze skips an application it cannot measure (a log cut off right after its start: no time span), with a reason the user can query, and finishes for the rest."""

from __future__ import annotations

import shutil

import zstandard

from spark_optimizer.analysis.analyze import analyze_applications
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import APP_METRICS, APPLICATIONS
from spark_optimizer.tables.findings import FINDINGS
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT

SAMPLE = REPO_ROOT / "samples" / "eventlogs" / "local-1776286786993.zstd"


def test_a_log_cut_off_at_its_start_is_skipped_with_its_reason(spark, store, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(SAMPLE, logs / SAMPLE.name)
    events = zstandard.ZstdDecompressor().stream_reader(SAMPLE.open("rb")).read().decode().splitlines()
    start = next(i for i, line in enumerate(events) if '"SparkListenerApplicationStart"' in line)
    cut = [line.replace("local-1776286786993", "local-1776286786000") for line in events[: start + 1]
           if '"SparkListenerExecutorAdded"' not in line and '"SparkListenerBlockManagerAdded"' not in line]
    (logs / "fragment-0001").write_text("\n".join(cut) + "\n")
    ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME)
    apps = {r["source_path"].rsplit("/", 1)[-1]: (r["app_id"], r["attempt_id"]) for r in store.read_arrow(APPLICATIONS).to_pylist()}
    assert set(apps) == {SAMPLE.name, "fragment-0001"}

    summary = analyze_applications(spark, store, PINNED_RUN_TIME)

    assert [(a, b) for a, b, _ in summary.skipped] == [apps["fragment-0001"]]
    assert "no event after the application start" in summary.skipped_line()
    assert summary.analyzed == (apps[SAMPLE.name],)
    rows = {(r["app_id"], r["attempt_id"]): r for r in store.read_arrow(APP_METRICS).to_pylist()}
    assert rows[apps["fragment-0001"]]["skipped_reason"].startswith("no event after the application start")
    assert rows[apps["fragment-0001"]]["wall_ms"] is None
    assert rows[apps[SAMPLE.name]]["skipped_reason"] is None and rows[apps[SAMPLE.name]]["wall_ms"] > 0
    assert apps["fragment-0001"] not in {(f["app_id"], f["attempt_id"]) for f in store.read_arrow(FINDINGS).to_pylist()}
