"""PySpark's Python worker daemon, run from the installed, byte-compiled `pyspark` package.

Spark starts its Python workers with `pyspark.zip` first on PYTHONPATH. Python cannot cache
compiled modules for a zip, so the daemon compiled PySpark's worker modules from source on every
start: 0.6 s of CPU here, before the first Python task of a session could run, against 0.25 s
from the installed package. `session.get_or_create_spark` points `spark.python.daemon.module`
here for the local sessions it builds when that package and the zip are the same PySpark (a
pip-installed pyspark, SPARK_HOME unset or its folder); this module moves the zips behind the
installed packages and runs `pyspark.daemon` as Spark would have.
"""

from __future__ import annotations

import os
import runpy
import sys


def installed_first(path: list[str]) -> list[str]:
    """`path` with PySpark's and Py4J's zips moved to the end."""
    def is_spark_zip(entry: str) -> bool:
        name = os.path.basename(entry)
        return name == "pyspark.zip" or (name.startswith("py4j-") and name.endswith(".zip"))

    return [p for p in path if not is_spark_zip(p)] + [p for p in path if is_spark_zip(p)]


if __name__ == "__main__":
    sys.path[:] = installed_first(sys.path)
    runpy.run_module("pyspark.daemon", run_name="__main__", alter_sys=True)
