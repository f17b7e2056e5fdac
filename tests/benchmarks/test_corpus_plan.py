"""The corpus's plan and its runs.csv, without Spark: grid sample, nesting of scales, repeats,
and a file that stays consistent when a write is torn."""

from __future__ import annotations

import csv

import pytest

from benchmarks.workloads.grid import (
    CONFIGS_PER_SCALE, DEFAULTS_LIKE, FULL_GRID, GRID_LEVELS, Config, plan_runs, workload_configs,
)  # fmt: skip
from benchmarks.workloads.output import COLUMNS, append_run, read_runs
from benchmarks.workloads.queries import WORKLOADS


def test_every_workload_starts_with_the_defaults_and_spans_every_level_of_the_grid():
    assert len(WORKLOADS) >= 6 and len(FULL_GRID) == 72
    chosen = {w: workload_configs(w, CONFIGS_PER_SCALE["small"]) for w in WORKLOADS}
    for configs in chosen.values():
        assert configs[0] == DEFAULTS_LIKE and len(set(configs)) == len(configs)
        assert all(c in FULL_GRID for c in configs)
    for name, levels in GRID_LEVELS.items():
        assert {getattr(c, name) for configs in chosen.values() for c in configs} == set(levels), name
    # the largest scale's short list still holds a small-memory configuration (a memory cliff)
    assert all(any(c.executor_memory_mb == 512 for c in configs[: CONFIGS_PER_SCALE["large"]]) for configs in chosen.values())
    assert workload_configs("aggregation", 3) == workload_configs("aggregation", 3)  # seeded


def test_plan_nests_scales_and_interleaves_repeats():
    runs = plan_runs(list(WORKLOADS), ["small", "medium", "large"], 3, None)
    assert len(runs) == len(WORKLOADS) * 3 * sum(CONFIGS_PER_SCALE[s] for s in ("small", "medium", "large"))
    assert len({r.run_id for r in runs}) == len(runs)
    for workload in WORKLOADS:
        by_scale = {s: {r.config for r in runs if r.workload == workload and r.scale == s} for s in ("small", "medium", "large")}
        assert by_scale["large"] <= by_scale["medium"] <= by_scale["small"]
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
