"""Start a real local SparkSession with each configuration of a JSON list, one after another in this
one process, and run a small job on it; print one JSON line per configuration: ok, or Spark's error.

Used by tests/rules/test_suggestions_start_spark.py (a separate process keeps the test session's own
SparkContext out of the way). Usage: python start_spark_with.py CONFIGS.json
"""

from __future__ import annotations

import json
import sys
import time


def try_configuration(conf: dict[str, str]) -> str | None:
    from pyspark.sql import SparkSession

    # A fresh builder: SparkSession.builder keeps earlier options.
    builder = SparkSession.Builder().master("local[1]").appName("suggestion-check").config("spark.ui.enabled", "false")
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - Spark's refusal is the result
        return _reason(exc)
    try:
        for key, value in conf.items():
            if key.startswith("spark.sql."):
                spark.conf.set(key, value)  # runtime SQL settings are validated when set
        spark.range(1000).selectExpr("id % 7 AS k").groupBy("k").count().collect()  # a shuffle under these settings
        return None
    except Exception as exc:  # noqa: BLE001
        return _reason(exc)
    finally:
        spark.stop()


def _reason(exc: Exception) -> str:
    """Spark's own message: the Java exception line under py4j's 'An error occurred while calling ...'."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    spark_lines = [line for line in lines if "Exception" in line or line.startswith("[")]
    return (spark_lines[0] if spark_lines else lines[0] if lines else repr(exc))[:500]


def main(path: str) -> None:
    from pyspark import SparkConf, SparkContext

    # Launch the JVM with no configuration of ours: the first context's settings would otherwise become
    # the JVM's system properties and leak into every later context.
    SparkContext._ensure_initialized(conf=SparkConf(loadDefaults=False))
    for conf in json.loads(open(path).read()):
        started = time.monotonic()
        error = try_configuration(conf)
        print(json.dumps({"conf": conf, "error": error, "seconds": round(time.monotonic() - started, 1)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
