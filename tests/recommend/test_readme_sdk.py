"""The README's SDK example runs as written: the test reads the Python block under "The same
functions from Python" from README.md (so the two stay in step) and runs it on the bundled sample
logs, with the example's paths pointed at a temporary folder."""

from __future__ import annotations

import re
import shutil

from tests.conftest import REPO_ROOT

EXAMPLE_HEADING = "The same functions from Python"


def readme_sdk_example() -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(EXAMPLE_HEADING)
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match, f"README.md has no ```python block after {EXAMPLE_HEADING!r}"
    return match.group(1)


def test_the_readme_sdk_example_runs_as_written(spark, tmp_path):
    example = readme_sdk_example()
    assert '"/data/spark-events"' in example and '"/tmp/wh"' in example, "the example's paths changed: update this test"
    logs = tmp_path / "spark-events"
    shutil.copytree(REPO_ROOT / "samples" / "eventlogs", logs)
    warehouse = tmp_path / "wh"
    runnable = example.replace('"/data/spark-events"', repr(str(logs))).replace('"/tmp/wh"', repr(str(warehouse)))
    namespace: dict = {}
    exec(compile(runnable, "README.md (SDK example)", "exec"), namespace)
    answer = namespace["answer"]
    assert answer.row["job_type"] == "etl" and answer.row["predicted_runtime_ms"] <= 30 * 60 * 1000
    assert answer.row["recommendation_id"].startswith("rec-")
    from deltalake import DeltaTable

    feedback = DeltaTable(str(warehouse / "feedback")).to_pyarrow_table().to_pylist()
    assert [r["recommendation_id"] for r in feedback] == [answer.row["recommendation_id"]]
