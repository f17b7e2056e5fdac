"""The review of our analysis against Spark's History Server (benchmarks/analysis_review.py).

The agreement criterion is specified on History Server answers and findings built by hand, in the
shapes the REST API and `build_app_report` return; one slow test replays three real logs in the
real History Server and checks the History Server side of the review on them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("analysis_review", REPO / "benchmarks" / "analysis_review.py")
review = importlib.util.module_from_spec(_spec)
sys.modules["analysis_review"] = review
_spec.loader.exec_module(review)

START = "2024-01-01T00:00:00.000GMT"


def _at(seconds: float) -> str:
    whole, millis = divmod(round(seconds * 1000), 1000)
    minutes, sec = divmod(whole, 60)
    return f"2024-01-01T00:{minutes:02d}:{sec:02d}.{millis:03d}GMT"


def _stage(stage_id, run_ms, *, tasks=100, begin=1.0, end=2.0, status="COMPLETE", failed=0, reason=None, spilled=0,
           output=0, attempt=0):
    return {"stageId": stage_id, "attemptId": attempt, "status": status, "numTasks": tasks, "numCompleteTasks": tasks - failed,
            "numFailedTasks": failed, "numKilledTasks": 0, "submissionTime": _at(begin),
            "completionTime": _at(end) if end is not None else None,
            "failureReason": reason, "executorRunTime": run_ms, "executorCpuTime": run_ms * 500_000, "jvmGcTime": 0,
            "shuffleFetchWaitTime": 0, "diskBytesSpilled": spilled, "outputBytes": output, "inputBytes": 0,
            "shuffleReadBytes": 0, "name": f"stage {stage_id}"}


def _hs_app(stages, *, jobs=None, wall_s=100.0, completed=True, summaries=None, task_errors=None, executors=None):
    attempt = {"completed": completed, "duration": int(wall_s * 1000), "startTime": START}
    jobs = jobs if jobs is not None else [{"jobId": 0, "status": "SUCCEEDED", "stageIds": [s["stageId"] for s in stages],
                                           "submissionTime": _at(0.5), "completionTime": _at(wall_s - 0.5)}]
    executors = executors if executors is not None else [
        {"id": "driver", "totalCores": 0, "addTime": START},
        {"id": "1", "totalCores": 4, "addTime": START},
        {"id": "2", "totalCores": 4, "addTime": START},
    ]
    return review.HsApp("app-1", "", attempt, jobs, stages, summaries or {}, task_errors or {}, executors)


def _finding(rule_id, severity="moderate", stages=(), category="parallelism", title="", evidence=None):
    return {"rule_id": rule_id, "severity": severity, "category": category, "title": title or rule_id,
            "evidence": evidence or {}, "stage_ids": list(stages), "recommended_conf": {}, "rationale": ""}


GPU_OOM_REASON = ("Job aborted due to stage failure: Task 51 in stage 34.0 failed 4 times, most recent failure: Lost task "
                  "51.3 in stage 34.0 (TID 12417) (rl-r7525 executor 0): com.nvidia.spark.rapids.jni.GpuSplitAndRetryOOM: "
                  "GPU OutOfMemory: could not split inputs and retry")


@pytest.mark.parametrize("message, name", [
    (GPU_OOM_REASON, "GpuSplitAndRetryOOM"),
    ("Job aborted due to stage failure: Task 0 in stage 1.0 failed 4 times, most recent failure: Lost task 0.3 in stage "
     "1.0 (TID 7, host-1, executor 1): java.lang.OutOfMemoryError: Java heap space", "OutOfMemoryError"),
    ("ExecutorLostFailure (executor 3 exited caused by one of the running tasks) Reason: Container killed by YARN",
     "ExecutorLostFailure"),
    ("FetchFailed(BlockManagerId(2, host, 7337, None), shuffleId=0, mapIndex=3, mapId=3, reduceId=5, message=", "FetchFailed"),
    ("org.apache.spark.api.python.PythonException: Traceback (most recent call last):", "PythonException"),
    ("Stage cancelled because SparkContext was shut down", None),
    ("Job 3 cancelled as part of cancellation of all jobs", None),
    ("", None),
])
def test_failure_name_is_the_exception_class_or_task_end_reason(message, name):
    assert review.failure_name(message) == name


def test_heavy_stages_are_the_fewest_holding_half_the_run_time():
    stages = [_stage(0, 10), _stage(1, 400), _stage(2, 300), _stage(3, 290)]
    assert review.heavy_stages(stages) == [(1, 0), (2, 0), (3, 0)]  # stage 3 holds 29%
    assert review.heavy_stages([_stage(0, 100), _stage(1, 600), _stage(2, 150), _stage(3, 150)]) == [(1, 0)]


def test_facts_name_the_failed_jobs_cause_from_the_failed_stage_not_the_cancelled_ones():
    stages = [_stage(1, 500, status="FAILED", reason="Stage cancelled because SparkContext was shut down"),
              _stage(2, 500, status="FAILED", failed=4, reason=GPU_OOM_REASON)]
    jobs = [{"jobId": 0, "status": "FAILED", "stageIds": [1]}, {"jobId": 1, "status": "FAILED", "stageIds": [2]}]
    facts = review.hs_facts(_hs_app(stages, jobs=jobs))
    assert facts.failed_jobs == [0, 1]
    assert facts.job_failure_names == {"GpuSplitAndRetryOOM"}
    assert facts.pressing[0].startswith("failure: 2 failed job(s) (GpuSplitAndRetryOOM)")


def test_time_with_no_stage_running_is_measured_on_the_stage_intervals():
    stages = [_stage(0, 1000, begin=10, end=30), _stage(1, 1000, begin=20, end=40)]
    facts = review.hs_facts(_hs_app(stages, wall_s=100))
    assert facts.stage_free_share == pytest.approx(0.70)
    assert any(p.startswith("driver:") for p in facts.pressing)


def test_an_incomplete_app_ends_at_its_last_job_stage_or_running_task_not_at_an_executor_added_later():
    stages = [_stage(0, 1000, begin=1, end=3), _stage(1, 1000, begin=4, end=None, status="ACTIVE")]
    app = _hs_app(stages, completed=False, jobs=[], executors=[
        {"id": "1", "totalCores": 4, "addTime": "2026-06-01T00:00:00.000GMT"}])
    app.running_task_launches = [review._epoch_ms(_at(5.5))]
    facts = review.hs_facts(app)
    assert facts.wall_ms == 5500
    ours = review.OurApp("app-1", "", {"status": "incomplete"}, {"wall_ms": 80_374_295_800}, [])
    assert not review.judge_figures(ours, facts).agrees
    ours.metrics["wall_ms"] = 5600
    assert review.judge_figures(ours, facts).agrees


# ---- the agreement criterion -------------------------------------------------------------

FAILED_JOB_APP = dict(
    stages=[_stage(1, 600), _stage(2, 400, status="FAILED", failed=4, reason=GPU_OOM_REASON)],
    jobs=[{"jobId": 0, "status": "SUCCEEDED", "stageIds": [1]}, {"jobId": 1, "status": "FAILED", "stageIds": [2]}],
)


def test_with_failed_jobs_the_top_finding_must_be_a_severe_failure_finding_naming_the_cause():
    facts = review.hs_facts(_hs_app(**FAILED_JOB_APP))
    config = _finding("cores_per_executor", "moderate", category="resources")
    low = _finding("failed_tasks", "low", category="reliability", evidence={"top_reasons": {"GpuSplitAndRetryOOM": 112}})
    wrong_cause = _finding("failed_tasks", "critical", category="reliability", title="4 task attempts failed (FetchFailed)")
    right = _finding("failed_tasks", "severe", category="reliability", evidence={"top_reasons": {"ExceptionFailure: GpuSplitAndRetryOOM": 4}})
    assert not review.judge_finding(config, facts, 1).agrees
    assert not review.judge_finding(low, facts, 1).agrees
    assert not review.judge_finding(wrong_cause, facts, 1).agrees
    assert review.judge_finding(right, facts, 1).agrees
    # Only #1 is held to the failed jobs; #2 is judged on its own claim.
    second = review.judge_finding(_finding("data_skew", stages=[1], category="skew"), facts, 2)
    assert "failed job" not in second.why and "max/median" in second.why


def test_a_stage_finding_must_name_a_heavy_stage():
    stages = [_stage(1, 900), _stage(2, 100)]
    facts = review.hs_facts(_hs_app(stages, summaries={(1, 0): {"duration": [100.0, 150.0, 4000.0]}}))
    on_light = review.judge_finding(_finding("data_skew", "critical", stages=[2], category="skew"), facts, 1)
    assert not on_light.agrees and "stage 2 10%" in on_light.why
    assert review.judge_finding(_finding("data_skew", "critical", stages=[1], category="skew"), facts, 1).agrees


def test_a_skew_finding_needs_the_history_servers_max_over_median_on_that_stage():
    stages = [_stage(1, 900), _stage(2, 100)]
    even = review.hs_facts(_hs_app(stages, summaries={(1, 0): {"duration": [1000.0, 1100.0, 1200.0]}}))
    verdict = review.judge_finding(_finding("data_skew", "critical", stages=[1], category="skew"), even, 1)
    assert not verdict.agrees and "1.2x" in verdict.why


def test_configuration_advice_ranks_first_only_when_the_history_server_shows_nothing_pressing():
    advice = _finding("aqe_disabled", "moderate", category="sql")
    quiet = review.hs_facts(_hs_app([_stage(1, 900, begin=0.5, end=99.5)]))
    assert review.judge_finding(advice, quiet, 1).agrees
    assert not review.judge_finding(advice, quiet, 1).confirmed
    spilled = review.hs_facts(_hs_app([_stage(1, 900, begin=0.5, end=99.5, spilled=2**30)]))
    assert not review.judge_finding(advice, spilled, 1).agrees


def test_under_parallelized_bottleneck_is_weighted_by_run_time():
    wide = [_stage(1, 9100, tasks=1205), _stage(2, 900, tasks=1)] + [_stage(i, 1, tasks=1) for i in range(3, 40)]
    facts = review.hs_facts(_hs_app(wide))
    verdict = review.judge_bottleneck("under_parallelized", facts)
    assert not verdict.agrees and "hold 9% of the run time" in verdict.why
    narrow = review.hs_facts(_hs_app([_stage(1, 9100, tasks=2), _stage(2, 900, tasks=1205)]))
    assert review.judge_bottleneck("under_parallelized", narrow).agrees


def test_skew_bottleneck_needs_a_straggler_that_costs_wall_time():
    stages = [_stage(1, 900), _stage(2, 100)]
    small = review.hs_facts(_hs_app(stages, wall_s=100, summaries={(1, 0): {"duration": [1000.0, 1500.0, 3000.0]}}))
    assert not review.judge_bottleneck("skew", small).agrees  # 3x, but the straggler costs 2 s of 100 s
    costly = review.hs_facts(_hs_app(stages, wall_s=100, summaries={(1, 0): {"duration": [1000.0, 1500.0, 30000.0]}}))
    assert review.judge_bottleneck("skew", costly).agrees


def test_cpu_or_io_bottleneck_disagrees_when_the_log_has_no_cpu_time():
    stage = _stage(1, 900)
    stage["executorCpuTime"] = 0  # Spark before 2.1 logged none
    facts = review.hs_facts(_hs_app([stage]))
    assert facts.cpu_share_of_run is None
    assert not review.judge_bottleneck("io", facts).agrees


# ---- selection -----------------------------------------------------------------------------

def _candidate(path, version="3.3.0", platform="YARN", notes="", compression="none", size=1000, repo="a/b"):
    return review.Candidate(path, repo, version, platform, compression, notes, size)


def test_selection_covers_each_property_once_per_application_and_rejects_what_the_history_server_cannot_read():
    candidates = [
        _candidate("x/failed", notes="1 failed job", size=10),
        _candidate("x/failed-copy", notes="same run; failed job", size=20),
        _candidate("x/k8s", platform="Kubernetes", repo="c/d"),
        _candidate("x/gz", platform="Databricks", compression="gzip"),
        _candidate("x/old", version="1.6.1"),
        _candidate("x/cut", notes="derived by upstream: last JSON line cut mid-object"),
    ]
    keys = {"x/failed": ("app-1", ""), "x/failed-copy": ("app-1", ""), "x/k8s": ("spark-2", "")}
    selected, skipped = review.select_logs(candidates, lambda c: keys.get(c.path), per_property=1, min_total=10)
    assert {s.app_key for s in selected} == {("app-1", ""), ("spark-2", "")}
    reasons = {c.path: r for c, r in skipped}
    assert "same application attempt" in reasons["x/failed"]  # the larger copy was picked first
    assert "gzip" in reasons["x/gz"] and "Spark version" in reasons["x/old"] and "cut mid-object" in reasons["x/cut"]


def test_the_public_corpus_selection_is_diverse(shared_eventlogs):
    public = shared_eventlogs / "public"
    selected, _ = review.select_logs(review.read_manifest(public), lambda c: review.peek_app_key(public, c))
    assert len(selected) >= 15
    assert len({s.app_key for s in selected}) == len(selected)
    for label, _ in review.SELECTION_SLOTS:
        assert sum(label in s.covers for s in selected) >= 2, label


# ---- one real History Server ---------------------------------------------------------------

@pytest.mark.slow
def test_a_real_history_server_run_judges_every_app(spark, shared_eventlogs, tmp_path):
    public = shared_eventlogs / "public"
    wanted = {
        "kubeflow__mcp-apache-spark-history-server/local-1776286786993.zstd",  # Spark 4.1, a failed job
        "apache__spark/application_1538416563558_0014",  # YARN, executors lost
        "kubeflow__mcp-apache-spark-history-server/eventlog_v2_spark-cc4d115f011443d787f03a71a476a745",  # k8s rolling
    }
    candidates = [c for c in review.read_manifest(public) if c.path in wanted]
    selection = [review.Selected(c, review.peek_app_key(public, c), "test", ()) for c in candidates]
    reviews, _ = review.run_review(public, tmp_path / "work", spark=spark, selection=selection)
    by_app = {r.selected.app_key[0]: r for r in reviews}
    assert set(by_app) == {"local-1776286786993", "application_1538416563558_0014", "spark-cc4d115f011443d787f03a71a476a745"}
    failed = by_app["local-1776286786993"]
    assert len(failed.facts.failed_jobs) == 1 and "PythonException" in failed.facts.job_failure_names
    top = failed.ours.findings[0] if failed.ours.findings else None
    if top is None or review.claim_kind(top) != "failure":
        assert not failed.top_agrees
    assert by_app["application_1538416563558_0014"].facts.lost_executors > 0
    assert all(r.figures.agrees for r in reviews if r.facts.completed), [r.figures for r in reviews]
    text = review.render_report(reviews, [], {"date": "today", "commit": "abc", "pyspark": "4", "per_property": "2"})
    assert "| `local-1776286786993` |" in text and "## Disagreements and their diagnosis" in text


def test_staged_logs_keep_spark_codec_suffixes_drop_others_and_never_clash(tmp_path):
    public = tmp_path / "public"
    for relative in ("a/eventlog", "b/eventlog", "c/app.txt", "d/app-1.zstd"):
        (public / relative).parent.mkdir(parents=True, exist_ok=True)
        (public / relative).write_bytes(b"{}\n")
    selection = [review.Selected(_candidate(path), (f"app-{i}", ""), "test", ())
                 for i, path in enumerate(("a/eventlog", "b/eventlog", "c/app.txt", "d/app-1.zstd"))]
    folder = tmp_path / "staged"
    folder.mkdir()
    staged = review.stage_logs(public, selection, folder)
    assert list(staged.values()) == ["eventlog", "1_eventlog", "app", "app-1.zstd"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(staged.values())


@pytest.mark.parametrize("names, text, found", [
    ({"FetchFailedException"}, '{"top_reasons": {"FetchFailed: shuffle 54 map 8339": 1}}', ["FetchFailedException"]),
    ({"ExecutorLostFailure"}, "ExecutorLostFailure: executor 2", ["ExecutorLostFailure"]),
    ({"PythonException"}, "PythonRDD stages", []),  # a short stem would match anything
    ({"GpuSplitAndRetryOOM", "OutOfMemoryError"}, "tasks ran OutOfMemory on the GPU", ["OutOfMemoryError"]),
])
def test_a_finding_names_a_failure_by_its_class_or_specific_stem(names, text, found):
    assert review.names_in_text(names, text) == found


def test_an_unknown_bottleneck_agrees_unconfirmed_only_when_the_history_server_shows_nothing_pressing():
    quiet = review.hs_facts(_hs_app([_stage(1, 900, begin=0.5, end=99.5)]))
    verdict = review.judge_bottleneck("unknown", quiet)
    assert verdict.agrees and not verdict.confirmed
    idle_driver = review.hs_facts(_hs_app([_stage(1, 900, begin=0.5, end=20)]))
    assert not review.judge_bottleneck("unknown", idle_driver).agrees


def test_a_rolling_log_is_one_candidate_described_by_its_first_part(tmp_path):
    header = "path\tsource_repo\tsource_path\tcommit\tspark_version\tplatform_hint\tcompression\tnotes\tsize_bytes\n"
    rows = [
        "r/eventlog_v2_local-1/events_2_local-1.zstd\tr/r\tx\tc\t3.1.1 (header only in events_1)\tlocal\tzstd\tpart 2\t50\n",
        "r/eventlog_v2_local-1/appstatus_local-1\tr/r\tx\tc\tn/a\tlocal\tnone\tmarker\t0\n",
        "r/eventlog_v2_local-1/events_1_local-1.zstd\tr/r\tx\tc\t3.1.1\tlocal\tzstd\tpart 1\t100\n",
    ]
    (tmp_path / "MANIFEST.tsv").write_text(header + "".join(rows))
    [candidate] = review.read_manifest(tmp_path)
    assert (candidate.path, candidate.spark_version, candidate.notes, candidate.size_bytes) == (
        "r/eventlog_v2_local-1", "3.1.1", "part 1", 150)
