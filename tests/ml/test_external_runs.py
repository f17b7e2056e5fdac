"""External run histories: files and mappings into the runs table, job parameters as inputs, exact
input sizes, repeats, a warehouse with external runs only, calibrated intervals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from spark_optimizer.ml.external_runs import RunsMappingError, load_mapping, load_runs_file
from spark_optimizer.ml.model_inputs import GB, MB, config_key, input_key
from spark_optimizer.ml.runtime_model import conformal_ratios, skip_reasons, train_runtime_model, usable_runs
from spark_optimizer.ml.evaluation import configuration_folds, held_out_intervals, coverage

C3O_COLUMNS = "instance_count\tmachine_type\tslots\tmemory\tdata_size_MB\tline_length\tlines\tp_occurrence\tgross_runtime\n"


def write_c3o_like(path, rows):
    path.write_text(C3O_COLUMNS + "".join("\t".join(str(v) for v in row) + "\n" for row in rows))
    return path


def test_c3o_rows_resolve_machine_types_through_the_catalogue(tmp_path):
    file = write_c3o_like(tmp_path / "grep.tsv", [
        (2, "c4.2xlarge", 16, 30000, 15150, 100, 150000000, 0.5, 150),
        (4, "r4.large", 8, 61000, 15150, 100, 150000000, 0.5, 200),
    ])
    runs, skipped = load_runs_file(file, "c3o")
    assert skipped.empty and list(runs["job_signature"]) == ["grep", "grep"]
    c4 = runs.iloc[0]
    assert (c4["executors"], c4["executor_cores"], c4["nodes"], c4["machine_type"]) == (2, 8, 2, "c4.2xlarge")
    assert 10_000 < c4["executor_memory_mb"] < 15 * 1024  # 15 GiB less the EMR node reserve
    assert runs.iloc[1]["executor_memory_mb"] > c4["executor_memory_mb"]  # an r4.large has more memory than a c4.2xlarge
    assert c4["price_per_hour"] > 2 * 0.398  # two nodes at the EC2 price plus the EMR fee
    assert c4["runtime_ms"] == 150_000 and c4["input_bytes"] == 15150 * MB
    assert c4["job_params"] == {"line_length": 100.0, "lines": 150000000.0, "p_occurrence": 0.5}


def test_runs_that_differ_only_in_job_parameters_or_exact_size_are_not_repeats(tmp_path):
    file = write_c3o_like(tmp_path / "grep.tsv", [
        (2, "c4.2xlarge", 16, 30000, 15150, 100, 150000000, 0.5, 150),
        (2, "c4.2xlarge", 16, 30000, 15150, 100, 150000000, 0.5, 152),   # a repeat
        (2, "c4.2xlarge", 16, 30000, 15150, 100, 150000000, 0.1, 90),    # other parameter, same size
        (2, "c4.2xlarge", 16, 30000, 15300, 100, 150000000, 0.5, 151),   # 1% larger input
    ])
    runs = usable_runs(load_runs_file(file, "c3o")[0])
    keys = [config_key(r) for r in runs.to_dict("records")]
    assert keys[0] == keys[1] and len(set(keys)) == 3
    assert len({input_key(r) for r in runs.to_dict("records")}) == 3


def test_a_user_mapping_file_maps_columns_units_and_settings_and_skips_bad_rows(tmp_path):
    (tmp_path / "runs.csv").write_text(
        "id,job,minutes,gigabytes,nodes,vm,parts,iters\n"
        "a,pagerank,2.5,10,4,m5.xlarge,200,10\n"
        "b,pagerank,1.5,10,8,m5.xlarge,400,10\n"
        "c,pagerank,,10,8,m5.xlarge,400,10\n"
        "d,pagerank,3,10,8,x9.huge,400,10\n")
    (tmp_path / "mapping.toml").write_text(
        'runtime = "minutes"\nruntime_unit = "min"\ninput_size = "gigabytes"\ninput_unit = "GB"\njob_column = "job"\n'
        'machine_type = "vm"\nnodes = "nodes"\nrun_id = "id"\njob_params = ["iters"]\n[config]\nshuffle_partitions = "parts"\n')
    runs, skipped = load_runs_file(tmp_path / "runs.csv", tmp_path / "mapping.toml")
    assert list(runs["run_id"]) == ["runs.csv:a", "runs.csv:b"]
    assert list(runs["runtime_ms"]) == [150_000, 90_000] and list(runs["input_bytes"]) == [10 * GB, 10 * GB]
    assert list(runs["shuffle_partitions"]) == [200, 400] and list(runs["executor_cores"]) == [4, 4]
    assert list(skipped["row"]) == [2, 3]
    assert "minutes" in skipped["reason"].iat[0] and "x9.huge" in skipped["reason"].iat[1]


def test_a_mapping_that_names_a_missing_column_says_which_and_what_the_file_has(tmp_path):
    file = write_c3o_like(tmp_path / "grep.tsv", [(2, "c4.2xlarge", 16, 30000, 15150, 100, 150000000, 0.5, 150)])
    with pytest.raises(RunsMappingError, match=r"grep.tsv.*wall_s.*its columns are instance_count"):
        load_runs_file(file, {"runtime": "wall_s", "machine_type": "machine_type", "nodes": "instance_count"})
    with pytest.raises(RunsMappingError, match="unknown key"):
        load_mapping({"runtime": "x", "machine_type": "m", "colour": "blue"})


def test_skip_reasons_name_why_a_run_cannot_train():
    runs = pd.DataFrame({"runtime_ms": [1000, None, 1000, 1000], "executors": [1, 1, None, 1], "executor_cores": [1, 1, 1, 1],
                         "succeeded": [True, True, True, False], "skip_reason": [None, None, None, None]})
    assert list(skip_reasons(runs)) == [None, "no positive runtime", "no executor count", "failed run"]


def test_conformal_ratios_cover_the_asked_share_of_held_out_errors():
    residuals = np.log(np.linspace(0.8, 1.25, 99))
    low, high = conformal_ratios(residuals, 0.8)
    inside = np.mean((np.exp(residuals) >= low) & (np.exp(residuals) <= high))
    assert 0.78 <= inside <= 0.84 and low < 1 < high


def parametric_runs(seed: int) -> pd.DataFrame:
    """A job whose runtime grows with a parameter (iterations) at one input size, with 5% noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for executors in (2, 4, 8):
        for memory in (4096, 16384):
            for iterations in (1, 10, 50):
                for size_gb in (4, 8, 16):
                    seconds = 20 + iterations * size_gb * 4 / executors * (3 if size_gb * 1024 > executors * memory / 1024 * 1.5 else 1)
                    for repeat in range(3):
                        rows.append({"run_id": f"{executors}-{memory}-{iterations}-{size_gb}-{repeat}", "job_signature": "sgd",
                                     "executors": executors, "executor_cores": 4, "executor_memory_mb": memory,
                                     "input_bytes": size_gb * GB, "job_params": json.dumps({"iterations": iterations}),
                                     "runtime_ms": seconds * 1000 * float(np.exp(rng.normal(0, 0.05))), "succeeded": True})
    return pd.DataFrame(rows)


def test_job_parameters_are_model_inputs_and_intervals_cover_held_out_configurations():
    runs = usable_runs(parametric_runs(5))
    folds = configuration_folds(runs)
    picked = np.isin(folds, np.arange(0, folds.max() + 1, 4))  # every 4th configuration keeps the test short
    held = held_out_intervals(None, runs, np.where(picked, folds, -1), {})
    actual = runs["runtime_ms"].to_numpy(dtype=float)[picked]
    errors = np.abs(held["predicted_runtime_ms"].to_numpy() - actual) / actual
    assert np.median(errors) < 0.12  # iterations span 50x at one size: without them the error would be ~100%
    assert 0.6 <= coverage(held, actual) <= 0.98
    assert held["confidence_label"].isin(["high", "medium", "low"]).all()


def test_train_on_a_warehouse_with_external_runs_only(spark, settings):
    from spark_optimizer import sdk
    from spark_optimizer.tables import RUNS
    from spark_optimizer.tables.store import TableStore

    runs = parametric_runs(6).head(60)
    summary = sdk.train(warehouse=settings.warehouse, spark=spark, external_runs=runs, folds=2)
    assert summary.runs == 60 and summary.signatures == 1
    stored = TableStore(spark, settings).read_arrow(RUNS).to_pandas()
    assert set(stored["source"]) == {"external"} and stored["job_params"].notna().all()
    spark_runs = spark.createDataFrame(parametric_runs(7).head(6).assign(run_id=lambda f: "spark-" + f["run_id"]))
    again = sdk.train(warehouse=settings.warehouse, spark=spark, external_runs=spark_runs, folds=2)
    assert again.runs == 66 and again.skipped_line() == "skipped no runs"


def test_sdk_add_runs_loads_a_file_without_a_jvm_and_loading_it_again_updates_it(tmp_path):
    from spark_optimizer import sdk
    from spark_optimizer.config import load_settings
    from spark_optimizer.tables import RUNS
    from spark_optimizer.tables.store import DeltaRsBackend, TableStore

    file = write_c3o_like(tmp_path / "grep.tsv", [
        (2, "c4.2xlarge", 16, 30000, 15150, 100, 150000000, 0.5, 150),
        (2, "z9.mega", 16, 30000, 15150, 100, 150000000, 0.5, 150),
    ])
    warehouse = str(tmp_path / "wh")
    first = sdk.add_runs(str(file), mapping="c3o", warehouse=warehouse)
    again = sdk.add_runs(str(file), mapping="c3o", warehouse=warehouse)
    assert (first.added, len(first.skipped), again.added) == (1, 1, 1)
    assert "skipped 1 row(s): machine type 'z9.mega'" in first.line("grep.tsv")
    stored = TableStore(None, load_settings(warehouse=warehouse, environ={}), backend=DeltaRsBackend()).read_arrow(RUNS).to_pandas()
    assert list(stored["run_id"]) == ["grep.tsv:0"] and stored["machine_type"].iat[0] == "c4.2xlarge"
