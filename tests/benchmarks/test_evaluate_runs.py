"""benchmarks/evaluate.py on a runs file with a mapping: every table the issue asks for is printed."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np

EVALUATE = Path(__file__).resolve().parents[2] / "benchmarks" / "evaluate.py"


def load_evaluate():
    spec = importlib.util.spec_from_file_location("evaluate_benchmark", EVALUATE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_c3o_shaped_file_gets_error_noise_ernest_coverage_regret_and_time(tmp_path, capsys):
    rng = np.random.default_rng(3)
    lines = ["instance_count\tmachine_type\tslots\tmemory\tdata_size_MB\titerations\tgross_runtime"]
    for nodes, machine, size, iterations in itertools.product((2, 4, 8), ("m4.xlarge", "r4.xlarge"), (1000, 2000), (1, 5)):
        seconds = 30 + iterations * size / (nodes * 4) * (2.0 if machine == "m4.xlarge" and nodes == 2 else 1.0)
        for _ in range(2):
            lines.append(f"{nodes}\t{machine}\t{nodes * 4}\t0\t{size}\t{iterations}\t{seconds * rng.uniform(0.98, 1.02):.1f}")
    file = tmp_path / "job.tsv"
    file.write_text("\n".join(lines) + "\n")

    assert load_evaluate().main(["--runs", str(file), "--mapping", "c3o"]) == 0

    out = capsys.readouterr().out
    assert "48 runs, 24 configurations, 4 inputs" in out
    for heading in ("leave-one-configuration-out", "largest input held out", "Coverage of the 80% interval",
                    "Choice regret per job input", "Regret summary", "time: leave-one-configuration-out"):
        assert heading in out
    for row in ("selected (ours)", "ernest (NNLS)", "noise floor (mean of other repeats)", "regret cheapest"):
        assert row in out
