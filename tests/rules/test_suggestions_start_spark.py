"""Every configuration the analysis recommends is one Spark accepts: for each Spark 3.x/4.x application
of the public corpus, its merged configuration has one value per key, no property its Spark lacks, no
value it already runs with, executor counts within the dynamic-allocation bounds, and it starts a real
local SparkSession that runs a shuffle (each distinct configuration once, in one separate process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spark_optimizer.analysis.report import merged_configuration
from spark_optimizer.rules.suggestions import same_value
from spark_optimizer.spark_rules import is_true, parse_version, property_available, validation_problems
from spark_optimizer.tables import APPLICATIONS, SPARK_CONF
from tests.conftest import quick_jit_environ

STARTER = Path(__file__).with_name("start_spark_with.py")
# Configurations Spark must refuse: the harness can tell a refusal from a start.
REFUSED = [{"spark.executor.memory": "384m"}, {"spark.sql.shuffle.partitions": "0"}]


@pytest.fixture(scope="module")
def recommended(analyzed_shared_corpus):
    """(application row, its Spark properties, its merged configuration) per Spark 3.x/4.x public application."""
    store, _ = analyzed_shared_corpus
    conf_rows = store.read_arrow(SPARK_CONF).to_pylist()
    result = []
    for app in store.read_arrow(APPLICATIONS).to_pylist():
        version = parse_version(app["spark_version"])
        if version is None or version[0] < 3 or "/public/" not in (app["source_path"] or ""):
            continue
        current = {r["key"]: r["value"] for r in conf_rows
                   if (r["app_id"], r["attempt_id"]) == (app["app_id"], app["attempt_id"]) and r["source"] == "spark"}
        result.append((app, current, merged_configuration(store, app)))
    assert len(result) >= 50, "the public corpus holds dozens of Spark 3.x/4.x applications"
    return result


def test_merged_configurations_are_consistent_and_new(recommended):
    for app, current, merged in recommended:
        where = app["app_id"]
        assert set(merged.conf) == set(merged.chosen_by), where
        problems = [str(p) for p in validation_problems({**current, **merged.conf}, app["spark_version"])
                    if set(p.keys) & set(merged.conf)]
        assert not problems, (where, problems)
        for key, value in merged.conf.items():
            assert property_available(key, app["spark_version"]), (where, key)
            assert not same_value(key, value, current.get(key)), (where, key, value)
        effective = {**current, **merged.conf}
        if is_true(effective.get("spark.dynamicAllocation.enabled")) and "spark.executor.instances" in merged.conf:
            assert int(merged.conf["spark.executor.instances"]) <= int(effective.get("spark.dynamicAllocation.maxExecutors", 2**31)), where


@pytest.mark.slow
def test_every_recommended_configuration_starts_a_real_spark_session(recommended, tmp_path):
    distinct = sorted({json.dumps(merged.conf, sort_keys=True) for _, _, merged in recommended})
    configs = [json.loads(c) for c in distinct] + REFUSED
    path = tmp_path / "configs.json"
    path.write_text(json.dumps(configs))
    run = subprocess.run([sys.executable, str(STARTER), str(path)], capture_output=True, text=True, timeout=1800,
                         env=quick_jit_environ())
    results = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(configs), run.stderr[-2000:]
    refused = [r for r in results if r["error"]]
    assert [r["conf"] for r in refused] == REFUSED, refused
    assert "471859200" in refused[0]["error"]
