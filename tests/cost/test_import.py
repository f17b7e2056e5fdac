"""The CLI imports the cost model on a cold start that must stay under 0.5 s: importing it (and
loading the catalogue) must not pull in Spark, pandas, NumPy or Arrow, nor the project's other layers.

The cost model may use `spark_optimizer.spark_rules`: container sizes follow Spark's own size parsing
and memory-overhead rule, which live there once; it is a leaf module (standard library only), so it
brings in nothing else."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT

HEAVY = ("pyspark", "py4j", "pandas", "numpy", "pyarrow", "deltalake", "mlflow")

PROBE = """
import json, sys, time
start = time.perf_counter()
import spark_optimizer.cost as cost
catalogue = cost.load_pricing_catalogue()
plan = cost.plan_instances(cost.ClusterShape(4, 4, 8192), catalogue, "aws")
cost.run_cost(plan, 600)
elapsed = time.perf_counter() - start
print(json.dumps({
    "elapsed_s": elapsed,
    "heavy": sorted(m for m in sys.modules if m.split(".")[0] in %r),
    "project": sorted(m for m in sys.modules if m.startswith("spark_optimizer")),
}))
""" % (HEAVY,)


def test_importing_the_cost_model_stays_light():
    # A fresh interpreter: this test process has already imported whatever other tests needed.
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["heavy"] == [], f"importing spark_optimizer.cost loaded {report['heavy']}"
    allowed = ("spark_optimizer", "spark_optimizer.errors", "spark_optimizer.defaults", "spark_optimizer.spark_rules")
    outside = [m for m in report["project"] if m not in allowed and not m.startswith("spark_optimizer.cost")]
    assert outside == [], (f"spark_optimizer.cost should depend only on spark_optimizer.errors, the packaged defaults and "
                           f"spark_optimizer.spark_rules, loaded {outside}")
    print(f"import + catalogue + one plan and cost: {report['elapsed_s'] * 1000:.0f} ms")
