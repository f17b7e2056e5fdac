"""spark_rules checked against the Spark the tests run on, not against our reading of its docs: for
every property of the table that this Spark registers, its own ConfigEntry (the parser SparkConf uses)
reads each sample size as we do, refuses what we refuse, has the default the table assumes, and
appeared no later than the version the table gives it."""

from __future__ import annotations

import pytest
from py4j.protocol import Py4JJavaError
from pyspark.errors.exceptions.captured import IllegalArgumentException

from spark_optimizer.spark_rules import SPARK_PROPERTIES, parse_version, size_bytes, value_problem

UNIT_BYTES = {"b": 1, "k": 1024, "m": 1024**2}
SAMPLES = ("7", "3g", "1500k", "2048kb", "64m", "1t")
REFUSED = ("1.5g", "4xb", "lots", "")


@pytest.fixture(scope="module")
def entries(spark):
    """key -> Spark's ConfigEntry for each table property this Spark registers (core and SQL)."""
    jvm = spark.sparkContext._jvm
    spark.sql("SELECT 1").collect()  # SQLConf's entries register when SQL is first used
    found = {key: jvm.org.apache.spark.internal.config.ConfigEntry.findEntry(key) for key in SPARK_PROPERTIES}
    found = {key: entry for key, entry in found.items() if entry is not None}
    assert len(found) >= 40, f"Spark registers only {sorted(found)}"
    return found


def _spark_reads(entry, text: str) -> int | None:
    """What Spark's entry makes of `text`, in its own unit; None when it refuses it."""
    try:
        value = entry.valueConverter().apply(text)
    except (Py4JJavaError, IllegalArgumentException):
        return None
    return value if isinstance(value, int) else value.get()  # optional entries answer Some(value)


def test_the_jvm_itself_reads_sizes_as_the_brief_example_says(spark):
    assert spark.sparkContext._jvm.org.apache.spark.network.util.JavaUtils.byteStringAsMb("3g") == 3072


def test_sizes_are_read_in_each_propertys_own_unit_as_spark_reads_them(entries):
    checked = 0
    for key, entry in entries.items():
        prop = SPARK_PROPERTIES[key]
        if prop.kind != "bytes":
            continue
        for text in SAMPLES:
            spark_reads = _spark_reads(entry, text)
            if spark_reads is None:  # beyond the entry's own bounds (spark.shuffle.file.buffer <= 2097151 KiB)
                assert value_problem(key, text) is not None, (key, text)
                continue
            ours = size_bytes(key, text) // UNIT_BYTES[prop.unit]  # in the property's own unit, truncated as Spark does
            assert ours == spark_reads, (key, text)
        checked += 1
    assert checked >= 15


def test_sizes_spark_refuses_are_refused(entries):
    for key, entry in entries.items():
        if SPARK_PROPERTIES[key].kind != "bytes":
            continue
        for text in REFUSED:
            with pytest.raises(ValueError):
                size_bytes(key, text)
            assert _spark_reads(entry, text) is None, (key, text)


def test_the_defaults_the_project_assumes_are_the_ones_spark_has(entries):
    checked = 0
    for key, prop in SPARK_PROPERTIES.items():
        if prop.default is None or key not in entries:
            continue
        spark_default = entries[key].defaultValueString()
        if spark_default.startswith("<value of "):  # a fallback entry: Spark's default is the other property's
            spark_default = entries[key].fallback().defaultValueString()
        if prop.kind == "bytes":
            assert size_bytes(key, prop.default) == size_bytes(key, spark_default), key
        else:
            assert float(prop.default) == float(spark_default), key
        checked += 1
    assert checked >= 8


def test_iec_suffixes_are_read_from_spark_4_2_as_spark_reads_them(spark, entries):
    version = spark.version
    entry = entries["spark.executor.memory"]
    spark_reads = _spark_reads(entry, "4gib")
    if parse_version(version) >= (4, 2):
        assert spark_reads == 4096 and value_problem("spark.executor.memory", "4gib", version) is None
    else:
        assert spark_reads is None and value_problem("spark.executor.memory", "4gib", version) is not None
    assert size_bytes("spark.executor.memory", "4gib") == 4 * 1024**3  # a log of a 4.2+ application is read either way


def test_no_property_is_claimed_before_spark_introduced_it(entries):
    early = {key: entry.version() for key, entry in entries.items()
             if parse_version(entry.version()) is not None and SPARK_PROPERTIES[key].since < parse_version(entry.version())}
    assert early == {}
