"""Each rule fires on a real Spark run that has its problem and stays quiet on a healthy run.

The runs are small real applications recorded by tests/fixtures/generate_problem_logs.py
(one problem each); their event logs are committed under tests/fixtures/problem_logs/.
"""

from __future__ import annotations

import pytest

from spark_optimizer.analysis.analyze import analyze_applications
from spark_optimizer.config import load_settings
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import APPLICATIONS, FINDINGS
from spark_optimizer.tables.store import TableStore
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT

PROBLEM_LOGS = REPO_ROOT / "tests" / "fixtures" / "problem_logs"

# log name -> the rule that must fire on it
EXPECTED = {
    "skewed_join": "data_skew",
    "spill": "spill_to_disk",
    "failing_tasks": "failed_tasks",
    "tiny_tasks": "tasks_too_short",
    "too_many_partitions": "too_many_shuffle_partitions",
    "broadcast_opportunity": "broadcast_join_opportunity",
    "aqe_disabled": "aqe_disabled",
    "idle_executors": "idle_executors",
    "gc_pressure": "excessive_gc",
}


@pytest.fixture(scope="module")
def findings_by_log(spark, tmp_path_factory):
    store = TableStore(spark, load_settings(warehouse=str(tmp_path_factory.mktemp("problems") / "wh"), environ={}))
    summary = ingest_event_logs(spark, store, str(PROBLEM_LOGS), PINNED_RUN_TIME)
    assert summary.count("ingested") == len(EXPECTED) + 1, summary.as_dict()
    analyze_applications(spark, store, PINNED_RUN_TIME)
    names = {(r["app_id"], r["attempt_id"]): r["app_name"] for r in store.read_arrow(APPLICATIONS).to_pylist()}
    result: dict[str, dict[str, dict]] = {name: {} for name in names.values()}
    for row in store.read_arrow(FINDINGS).to_pylist():
        result[names[(row["app_id"], row["attempt_id"])]][row["rule_id"]] = row
    return result


@pytest.mark.parametrize("log, rule", sorted(EXPECTED.items()))
def test_the_rule_fires_on_the_run_that_has_its_problem(findings_by_log, log, rule):
    findings = findings_by_log[log]
    assert rule in findings, f"{rule} did not fire on {log}; fired: {sorted(findings)}"
    if rule == "failed_tasks" and not findings[rule]["recommended_conf"]:
        # the fixture's tasks raise from application code: no setting fixes that, and the finding says so
        assert "application's own code" in findings[rule]["rationale"]
        return
    assert findings[rule]["recommended_conf"], "a finding must carry concrete properties"


@pytest.mark.parametrize("rule", sorted(set(EXPECTED.values())))
def test_the_rule_stays_quiet_on_the_healthy_run(findings_by_log, rule):
    assert rule not in findings_by_log["healthy"], findings_by_log["healthy"].get(rule)


@pytest.mark.parametrize("log, rule", sorted(EXPECTED.items()))
def test_the_rule_stays_quiet_on_runs_without_its_problem(findings_by_log, log, rule):
    # Problems that legitimately come together in one run.
    related = {
        "tiny_tasks": {"too_many_shuffle_partitions", "scheduler_delay"},
        "too_many_partitions": {"tasks_too_short", "scheduler_delay"},
        # broadcast is disabled there too, and broadcasting the small side would also remove the skew
        "skewed_join": {"speculation_for_long_tail", "broadcast_join_opportunity"},
        "gc_pressure": {"spill_to_disk"},
        "spill": {"excessive_gc"},
    }
    for other_log, findings in findings_by_log.items():
        if other_log in (log, "healthy") or rule in related.get(other_log, set()):
            continue
        if EXPECTED.get(other_log) == rule:
            continue
        assert rule not in findings, f"{rule} also fired on {other_log}: {findings[rule]['title']}"
