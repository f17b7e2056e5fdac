"""Invariants over every real event log in ../shared/eventlogs (public and generated): whatever a
log holds, the analysis never reports an impossible figure.

For every application, stage and finding: shares lie in [0, 1] (percentages in [0, 100]); GC, CPU
and fetch-wait time are never more than the run time they are a share of (an inconsistent log gives
null with a recorded reason instead); durations lie within the application's first and last event;
figures a Spark version does not log are null ("unknown"), not 0.
"""

from __future__ import annotations

import re

import pytest

from spark_optimizer.spark_rules import parse_version
from spark_optimizer.tables import APP_METRICS, APPLICATIONS, JOBS, STAGE_METRICS, STAGES
from spark_optimizer.tables.findings import FINDINGS, evidence_from_stored
from spark_optimizer.tables.instants import epoch_ms

APP_SHARES = ("driver_only_share", "core_utilization", "cpu_utilization", "cpu_share_of_run", "gc_share",
              "shuffle_fetch_wait_share", "spilled_stage_share", "spilled_task_time_share", "heap_headroom_share")
STAGE_SHARES = ("task_time_share", "wall_time_share", "gc_share", "cpu_share_of_run", "shuffle_fetch_wait_share")
PERCENT = re.compile(r"(-?\d+(?:\.\d+)?)%")


@pytest.fixture(scope="module")
def corpus(analyzed_shared_corpus):
    """Every shared log ingested and analyzed (once per session): {table name: rows}."""
    store, summary = analyzed_shared_corpus
    tables = {spec.name: store.read_arrow(spec).to_pylist(maps_as_pydicts="strict") for spec in (APPLICATIONS, APP_METRICS, STAGE_METRICS, STAGES, JOBS, FINDINGS)}
    tables["summary"] = summary
    return tables


def _unknown(row) -> list[str]:
    return row["unknown_metrics"] or []


def _apps(corpus) -> dict[tuple[str, str], dict]:
    return {(a["app_id"], a["attempt_id"]): a for a in corpus["applications"]}


def test_the_whole_corpus_is_analyzed(corpus):
    assert len(corpus["applications"]) >= 100
    keys = {(m["app_id"], m["attempt_id"]) for m in corpus["app_metrics"]}
    assert keys == set(_apps(corpus)), "every application gets an app_metrics row (analyzed or skipped with a reason)"
    for m in corpus["app_metrics"]:
        if m["skipped_reason"] is None:
            assert m["wall_ms"] is not None, m["app_id"]


def test_application_shares_lie_between_0_and_1(corpus):
    bad = [(m["app_id"], k, m[k]) for m in corpus["app_metrics"] for k in APP_SHARES
           if m[k] is not None and not 0 <= m[k] <= 1 + 1e-9]
    assert not bad


def test_stage_shares_lie_between_0_and_1(corpus):
    bad = [(s["app_id"], s["stage_id"], k, s[k]) for s in corpus["stage_metrics"] for k in STAGE_SHARES
           if s[k] is not None and not 0 <= s[k] <= 1 + 1e-9]
    assert not bad


def test_times_are_never_more_than_the_run_time_they_are_part_of(corpus):
    stages = {(s["app_id"], s["attempt_id"], s["stage_id"], s["stage_attempt_id"]): s for s in corpus["stages"]}
    for m in corpus["stage_metrics"]:
        s = stages[(m["app_id"], m["attempt_id"], m["stage_id"], m["stage_attempt_id"])]
        run = s["executor_run_time_ms"] or 0
        for share, part in (("gc_share", "jvm_gc_time_ms"), ("shuffle_fetch_wait_share", "shuffle_fetch_wait_time_ms"),
                            ("cpu_share_of_run", "executor_cpu_time_ms")):
            if run and (s[part] or 0) > run:
                assert m[share] is None, (m["app_id"], m["stage_id"], share)
                assert any(r.startswith(share) for r in _unknown(m)), (m["app_id"], m["stage_id"], share)


def test_an_unknown_share_always_says_why(corpus):
    stages = {(s["app_id"], s["attempt_id"], s["stage_id"], s["stage_attempt_id"]): s for s in corpus["stages"]}
    rows = [(m, m["task_run_ms"]) for m in corpus["app_metrics"] if m["skipped_reason"] is None]
    rows += [(m, stages[(m["app_id"], m["attempt_id"], m["stage_id"], m["stage_attempt_id"])]["executor_run_time_ms"])
             for m in corpus["stage_metrics"]]
    for m, run in rows:
        if not run:
            continue
        for share in ("gc_share", "cpu_share_of_run", "shuffle_fetch_wait_share"):
            if m[share] is None:
                assert any(r.startswith(share) for r in _unknown(m)), (m["app_id"], m.get("stage_id"), share)


def test_durations_lie_within_the_applications_first_and_last_event(corpus):
    apps = _apps(corpus)
    for a in apps.values():
        if a["start_time"] and a["end_time"]:
            assert a["duration_ms"] == epoch_ms(a["end_time"]) - epoch_ms(a["start_time"]) >= 0, a["app_id"]
    for m in corpus["app_metrics"]:
        if m["wall_ms"] is None:
            continue
        a = apps[(m["app_id"], m["attempt_id"])]
        assert 0 <= m["executor_busy_ms"] <= m["wall_ms"], m["app_id"]
        assert 0 <= m["driver_only_ms"] <= m["wall_ms"], m["app_id"]
        cores = a["max_concurrent_cores"] or 0
        if m["allocated_core_ms"] is not None and cores:
            assert m["allocated_core_ms"] <= m["wall_ms"] * cores * (1 + 1e-9), m["app_id"]
    for m in corpus["stage_metrics"]:
        a = apps[(m["app_id"], m["attempt_id"])]
        if m["duration_ms"] is not None and a["duration_ms"] is not None:
            assert 0 <= m["duration_ms"] <= a["duration_ms"], (m["app_id"], m["stage_id"], m["duration_ms"], a["duration_ms"])


def test_an_incomplete_application_ends_at_its_last_event_and_says_so(corpus):
    apps = _apps(corpus)
    incomplete = [m for m in corpus["app_metrics"] if m["incomplete"]]
    assert incomplete, "the corpus holds applications without ApplicationEnd"
    for m in incomplete:
        assert apps[(m["app_id"], m["attempt_id"])]["status"] == "incomplete"
    # NVIDIA's edited log (executor times moved two years on): it ends with its last task, not at the edited times
    edited = apps[("local-1622043423015", "")]
    assert edited["duration_ms"] < 60_000, edited["duration_ms"]


def test_unlogged_figures_are_unknown_not_zero(corpus):
    """Executor CPU time is logged from Spark 2.1: older runs have no CPU share, and say why."""
    apps = _apps(corpus)
    old = [m for m in corpus["app_metrics"] if m["skipped_reason"] is None and (m["task_run_ms"] or 0) > 0
           and (v := parse_version(apps[(m["app_id"], m["attempt_id"])]["spark_version"])) and v < (2, 1)]
    assert old, "the corpus holds runs of Spark before 2.1"
    for m in old:
        assert m["task_cpu_ms"] is None and m["cpu_share_of_run"] is None and m["cpu_utilization"] is None, m["app_id"]
        assert any(r.startswith("cpu_share_of_run") for r in _unknown(m)), m["app_id"]


def _numbers_in(evidence: dict, suffixes: tuple[str, ...]) -> list[tuple[str, float]]:
    return [(k, v) for k, v in evidence.items() if isinstance(v, (int, float)) and k.endswith(suffixes)]


def test_findings_hold_no_impossible_share_or_percentage(corpus):
    for f in corpus["findings"]:
        evidence = evidence_from_stored(f["evidence"])
        for key, value in _numbers_in(evidence, ("share", "utilization")):
            assert 0 <= value <= 1, (f["app_id"], f["rule_id"], key, value)
        for value in PERCENT.findall(f["title"]):
            assert 0 <= float(value) <= 100, (f["app_id"], f["rule_id"], f["title"])


def test_costs_count_no_time_outside_the_application(corpus):
    metrics = {(m["app_id"], m["attempt_id"]): m for m in corpus["app_metrics"]}
    apps = _apps(corpus)
    for f in corpus["findings"]:
        evidence = evidence_from_stored(f["evidence"])
        wasted = evidence.get("wasted_core_hours")
        if wasted is None:
            continue
        a, m = apps[(f["app_id"], f["attempt_id"])], metrics[(f["app_id"], f["attempt_id"])]
        assert wasted * 3.6e6 <= (m["wall_ms"] or 0) * (a["max_concurrent_cores"] or 1) + 1, (f["app_id"], wasted)


def test_an_incomplete_application_is_listed_with_its_real_duration(analyzed_shared_corpus):
    from spark_optimizer.analysis.report import list_applications

    store, _ = analyzed_shared_corpus
    long_runs = {r["app_id"] for r in list_applications(store, min_duration_ms=10 * 60_000)}
    assert "local-1622043423015" not in long_runs  # 6 s of work, not the 80 million seconds its edited executor times span
    assert all(r["duration_ms"] >= 10 * 60_000 for r in list_applications(store, min_duration_ms=10 * 60_000))


def test_named_examples_come_out_right(corpus):
    """The runs issue 16 names, as a new user would meet them."""
    metrics = {m["app_id"]: m for m in corpus["app_metrics"]}
    findings: dict[str, dict] = {}
    for f in corpus["findings"]:
        findings.setdefault(f["app_id"], {})[f["rule_id"]] = f
    gpu_oom = findings["app-20250305192829-0000"]  # NVIDIA gpu_oom_eventlog.zstd
    assert metrics["app-20250305192829-0000"]["accelerator"] == "rapids"
    assert gpu_oom["failed_tasks"]["severity"] in ("severe", "critical") and "GpuSplitAndRetryOOM" in gpu_oom["failed_tasks"]["title"]
    assert not any(c.startswith("spark.task.maxFailures") for c in gpu_oom["failed_tasks"]["recommended_conf"])
    nds = findings.get("application_1701368813061_0008", {})  # 2.7 s listing stage, 2.26 MB shuffle
    assert "data_skew" not in nds and "too_many_shuffle_partitions" not in nds
    assert metrics["application_1701368813061_0008"]["bottleneck"] != "skew"
    assert metrics["application_1640227485896_0002"]["bottleneck"] != "under_parallelized"  # 91% of task time in 1205-task stages
