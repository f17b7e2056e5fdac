"""The corpus's plan and its runs.csv, without Spark: grid sample, nesting of scales, repeats,
and a file that stays consistent when a write is torn."""

from __future__ import annotations

import csv

import pytest

from benchmarks.workloads.grid import (
    CONFIGS_PER_SCALE, DEFAULTS_LIKE, FULL_GRID, GRID_LEVELS, MAX_CONFIGS, Config, plan_runs, scale_configs, workload_configs,
)  # fmt: skip
from benchmarks.workloads.output import COLUMNS, append_run, read_runs
from benchmarks.workloads.queries import WORKLOADS


def test_every_workload_starts_with_the_defaults_and_spans_every_level_of_the_grid():
    assert len(WORKLOADS) >= 6 and len(FULL_GRID) == 72
    chosen = {w: workload_configs(w, MAX_CONFIGS) for w in WORKLOADS}
    for configs in chosen.values():
        assert configs[0] == DEFAULTS_LIKE and len(set(configs)) == len(configs) == MAX_CONFIGS == 7
        assert all(c in FULL_GRID for c in configs)
    for name, levels in GRID_LEVELS.items():
        for workload, configs in chosen.items():
            assert {getattr(c, name) for c in configs} == set(levels), (workload, name)
    # the largest scale holds a small-memory configuration (a memory cliff)
    assert all(any(c.executor_memory_mb == 512 for c in scale_configs(w, "large")) for w in WORKLOADS)
    assert workload_configs("aggregation", 3) == workload_configs("aggregation", 7)[:3]  # seeded, prefixes


def test_each_scale_runs_the_defaults_and_its_own_block_of_configurations():
    for workload in WORKLOADS:
        by_scale = {s: scale_configs(workload, s) for s in ("small", "medium", "large")}
        assert all(len(c) == CONFIGS_PER_SCALE and c[0] == DEFAULTS_LIKE for c in by_scale.values())
        others = [set(c[1:]) for c in by_scale.values()]
        assert len(set.union(*others)) == 3 * (CONFIGS_PER_SCALE - 1)  # no configuration repeats across scales


def test_plan_runs_every_scale_configuration_three_times_with_repeats_interleaved():
    runs = plan_runs(list(WORKLOADS), ["small", "medium", "large"], 3, None)
    assert len(runs) == len(WORKLOADS) * 3 * 3 * CONFIGS_PER_SCALE
    assert len({r.run_id for r in runs}) == len(runs)
    for workload in WORKLOADS:
        for scale in ("small", "medium", "large"):
            assert {r.config for r in runs if r.workload == workload and r.scale == scale} == set(scale_configs(workload, scale))
    block = [r for r in runs if r.workload == "aggregation" and r.scale == "small"]
    assert [r.repeat for r in block] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert [r.scale for r in runs] == sorted((r.scale for r in runs), key=["small", "medium", "large"].index)


def test_config_ids_round_trip():
    assert Config.parse(DEFAULTS_LIKE.config_id) == DEFAULTS_LIKE
    assert DEFAULTS_LIKE.config_id == "e2c1m1024p200-aqe"
    with pytest.raises(Exception, match="e2c1m1024p200-aqe"):
        Config.parse("2x1")


def test_runs_csv_is_appended_row_by_row_and_a_torn_last_line_is_dropped(tmp_path):
    path = tmp_path / "runs.csv"
    rows = [{name: f"{name}-{i}" for name in COLUMNS} for i in range(2)]
    for row in rows:
        append_run(path, row)
    with path.open("ab") as f:
        f.write(b"run_id-2,config")  # a crash in the middle of a write
    assert read_runs(path) == rows
    assert path.read_text().count("\n") == 3
    with path.open(newline="") as f:
        assert list(csv.DictReader(f)) == rows


def test_a_paired_plan_runs_each_workload_once_with_its_own_configuration():
    configs = [DEFAULTS_LIKE, Config(1, 2, 512, 8, False)]
    runs = plan_runs(["aggregation", "multi_join"], ["tiny"], 1, configs, paired=True)
    assert [(r.workload, r.config) for r in runs] == [("aggregation", configs[0]), ("multi_join", configs[1])]
