"""Every recommended configuration passes Spark's own validation: each one starts a real local
SparkSession (in a separate Python process, so each gets its own SparkContext and memory manager)
and runs a job; a value Spark refuses (384m executor memory) is the control that must fail."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from spark_optimizer.cost import load_pricing_catalogue
from spark_optimizer.ml.model_inputs import GB
from spark_optimizer.ml.scaling import ScalingFit
from spark_optimizer.recommender.answer import recommend
from spark_optimizer.recommender.curves import Curve, CurveSpec, size_prior
from spark_optimizer.spark_rules import validation_problems
from tests.conftest import REPO_ROOT, quick_jit_environ

START_EACH = r"""
import json, sys
from pyspark.sql import SparkSession
results = []
for conf in json.loads(sys.stdin.read()):
    builder = SparkSession.builder.master("local[1]").appName("valid-recommendation").config("spark.ui.enabled", "false")
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
        ok = spark.range(0, 100, 1, 1).selectExpr("sum(id) AS s").collect()[0]["s"] == 4950
        spark.stop()
        results.append("started" if ok else "wrong result")
    except Exception as error:  # the refusal is the answer
        results.append(f"refused: {str(error).splitlines()[0][:300]}")
        try:
            SparkSession.getActiveSession() and SparkSession.getActiveSession().stop()
        except Exception:
            pass
print(json.dumps(results))
"""


def start_in_spark(confs: list[dict]) -> list[str]:
    done = subprocess.run([sys.executable, "-c", START_EACH], input=json.dumps(confs), capture_output=True, text=True,
                          timeout=600, cwd=REPO_ROOT, env=quick_jit_environ())
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def answers() -> list[dict]:
    catalogue = load_pricing_catalogue()
    fits = tuple(ScalingFit(("fixed",), {"fixed": f}, 4.0, {}) for f in (11.3, 18.1))
    spec = CurveSpec(Curve(fits, 1.0, (), size_prior([], [[4 * GB, 4, 500_000]])), "job_type", 1.0, "", 1.0, ())
    rows = []
    for size in (0.01 * GB, 1 * GB, 100 * GB, 5 * 1024 * GB):
        for cloud in ("aws", "gcp"):
            rows.append(recommend(spec, size, catalogue, cloud=cloud, row_id="rec-000000000000")[0])
    # Rules asked for an executor memory Spark refuses and a valid property: the first is dropped, the second kept.
    rules = {"spark.executor.memory": ("384m", "executor_memory_overprovisioned"),
             "spark.memory.offHeap.size": ("384x", "bad_rule"),
             "spark.sql.files.maxPartitionBytes": ("256m", "small_files")}
    # Asked candidate configurations, and a job on Spark 2.4 (no AQE, spark.yarn.* overhead before 2.3 too).
    from spark_optimizer.recommender.search import CandidateConfig

    asked = [CandidateConfig.from_mapping(c) for c in ({"instance_type": "r4.large", "nodes": 3},
                                                       {"instance_type": "n2-highcpu-8", "nodes": 2, "executor_cores": 2})]
    rows.append(recommend(spec, 10 * GB, catalogue, row_id="rec-000000000000", configs=asked)[0])
    for version in ("2.4.8", "1.6.1"):
        rows.append(recommend(spec, 10 * GB, catalogue, row_id="rec-000000000000", spark_version=version)[0])
    rows.append(recommend(spec, 10 * GB, catalogue, rules=rules, dynamic_allocation=True, row_id="rec-000000000000")[0])
    return rows


def test_every_recommended_configuration_starts_a_real_spark_session():
    rows = answers()
    confs = [r["spark_conf"] for r in rows]
    for row, conf in zip(rows, confs):
        assert validation_problems(conf, row["spark_version"]) == []
        assert int(conf["spark.executor.memory"].rstrip("mg")) * (1024 if conf["spark.executor.memory"].endswith("g") else 1) >= 450
    with_rules = rows[-1]
    assert with_rules["spark_conf"]["spark.sql.files.maxPartitionBytes"] == "256m"
    assert "spark.memory.offHeap.size" not in with_rules["spark_conf"]
    assert "dropped for Spark 3.0: spark.memory.offHeap.size=384x" in with_rules["rationale"]
    control = {"spark.executor.memory": "384m"}
    results = start_in_spark(confs + [control])
    assert results[:-1] == ["started"] * len(confs)
    assert results[-1].startswith("refused") and "471859200" in results[-1]


@pytest.mark.parametrize("version, has_aqe, overhead_key", [
    ("1.6.1", False, "spark.yarn.executor.memoryOverhead"), ("2.4.8", False, "spark.executor.memoryOverhead"),
    ("3.5.1", True, "spark.executor.memoryOverhead"), (None, True, "spark.executor.memoryOverhead")])
def test_a_configuration_is_written_for_the_jobs_spark_version(version, has_aqe, overhead_key):
    catalogue = load_pricing_catalogue()
    spec = CurveSpec(Curve((ScalingFit(("fixed",), {"fixed": 11.0}, 4.0, {}),), 1.0, (), size_prior([], [])), "own", 0.2, "", 3, ())
    row, _ = recommend(spec, 10 * GB, catalogue, row_id="rec-000000000000", spark_version=version)
    conf = row["spark_conf"]
    assert row["spark_version"] == (version or "3.0") and row["aqe_enabled"] is has_aqe
    assert ("spark.sql.adaptive.enabled" in conf) is has_aqe and overhead_key in conf
    assert validation_problems(conf, row["spark_version"]) == []
    assert overhead_key in row["spark_submit"]
    if not has_aqe:
        assert f"no adaptive query execution in Spark {version}: predicted and configured without it" in row["rationale"]
        assert not any(key.startswith("spark.sql.adaptive.") for key in conf)


@pytest.mark.parametrize("version, aqe", [("2.4.8", False), ("1.6.1", False), ("3.0.0", True), (None, True)])
def test_a_job_before_spark_3_is_predicted_without_aqe(version, aqe):
    # A curve with a waves term and a small shuffle (400 MB of 40 GB): AQE coalesces it to ~64 MB
    # partitions, fewer than one per task slot, so with AQE on the shuffle costs less than one wave.
    waves = ScalingFit(("fixed", "per_core", "waves"), {"fixed": 10.0, "per_core": 30.0, "waves": 2.0}, 4.0,
                       {"shuffle_input_ratio": 0.01})
    spec = CurveSpec(Curve((waves,), 1.0, (), size_prior([], [])), "own", 0.2, "", 3, ())
    row, result = recommend(spec, 40 * GB, load_pricing_catalogue(), row_id="rec-000000000000", spark_version=version)
    s = result.best.shape
    predicted = {flag: int(spec.curve.predict_ms(s.executors, s.executor_cores, s.executor_memory_mb, row["shuffle_partitions"],
                                                 flag, 40 * GB)) for flag in (True, False)}
    assert predicted[True] != predicted[False]
    assert row["predicted_runtime_ms"] == predicted[aqe] and row["aqe_enabled"] is aqe


def test_dynamic_allocation_always_comes_with_a_way_to_keep_shuffle_files():
    from spark_optimizer.recommender.answer import valid_configuration

    searched = {"spark.executor.cores": "2", "spark.executor.memory": "2g", "spark.dynamicAllocation.enabled": "true",
                "spark.dynamicAllocation.minExecutors": "1", "spark.dynamicAllocation.maxExecutors": "8",
                "spark.dynamicAllocation.initialExecutors": "4", "spark.dynamicAllocation.shuffleTracking.enabled": "true"}
    on_3, _, _ = valid_configuration(dict(searched), [], "3.5.1")
    assert on_3["spark.dynamicAllocation.shuffleTracking.enabled"] == "true" and "spark.shuffle.service.enabled" not in on_3
    on_2, _, dropped = valid_configuration(dict(searched), [], "2.4.8")  # no shuffle tracking before Spark 3.0
    assert "spark.dynamicAllocation.shuffleTracking.enabled" not in on_2 and on_2["spark.shuffle.service.enabled"] == "true"
    assert any(d.startswith("spark.dynamicAllocation.shuffleTracking.enabled") for d in dropped)
