"""Spark's own rules, in one place: which property exists from which Spark version, how Spark
reads memory sizes and durations, and the checks Spark itself applies to a configuration.

Every suggestion the project makes (rule findings, recommendations) goes through this module, so
no suggestion names a property the application's Spark lacks or a value Spark would refuse.
Figures are Spark's, cited where they live in Spark's source:

- the executor-memory minimum is `UnifiedMemoryManager.getMaxMemory` (Spark 1.6+): 1.5 x the
  300 MiB reserved system memory = 450 MiB (471859200 bytes), else `INVALID_EXECUTOR_MEMORY`;
- the default memory overhead is `max(384 MiB, 10% of executor memory)` (YARN/Kubernetes
  `MEMORY_OVERHEAD_MIN`, `MEMORY_OVERHEAD_FACTOR`);
- sizes are `JavaUtils.byteStringAs` / `ConfigBuilder.bytesConf`: a whole number and an optional
  binary unit (b, k/kb, m/mb, g/gb, t/tb, p/pb), no fractions, a leading '-' only for the
  properties that accept -1; a bare number is in the property's own unit (MiB for
  `spark.executor.memory`, bytes for `spark.sql.autoBroadcastJoinThreshold`, KiB for
  `spark.shuffle.file.buffer`);
- durations are `JavaUtils.timeStringAs`: a whole number and us, ms, s, m/min, h or d.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping

MIB = 1024 * 1024
RESERVED_SYSTEM_MEMORY_BYTES = 300 * MIB
MIN_EXECUTOR_MEMORY_BYTES = math.ceil(RESERVED_SYSTEM_MEMORY_BYTES * 1.5)  # 471859200
MIN_EXECUTOR_MEMORY_MB = MIN_EXECUTOR_MEMORY_BYTES // MIB  # 450
MIN_DRIVER_MEMORY_MB = MIN_EXECUTOR_MEMORY_MB  # the same check on the driver's heap (INVALID_DRIVER_MEMORY)
MEMORY_OVERHEAD_MIN_MB = 384
MEMORY_OVERHEAD_FACTOR = 0.10
MAX_KRYO_BUFFER_MB = 2048  # KryoSerializer: spark.kryoserializer.buffer.max must be below 2048 MiB
MAX_SHUFFLE_FILE_BUFFER_KB = (2**31 - 1) // 1024  # spark.shuffle.file.buffer: at most Int.MaxValue / 1024 KiB

_BYTE_POWER = {"b": 0, "k": 1, "kb": 1, "m": 2, "mb": 2, "g": 3, "gb": 3, "t": 4, "tb": 4, "p": 5, "pb": 5}
_BYTE_STRING = re.compile(r"^([0-9]+)([a-z]+)?$")
_FRACTION = re.compile(r"^([0-9]+\.[0-9]+)([a-z]+)?$")
_TIME_MS = {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)")


def parse_version(spark_version: str | None) -> tuple[int, int] | None:
    """'3.3.0-amzn-1', '3.1.1.3.1.7270.0-253', '4.0.1' -> (major, minor); None when unreadable."""
    match = _VERSION.match(spark_version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def parse_bytes(text: str, default_unit: str = "b") -> int:
    """A Spark size string in bytes, read exactly as Spark reads it; ValueError with Spark's reason otherwise.

    `default_unit` is the property's own unit for a bare number ('m' for spark.executor.memory).
    """
    raw = str(text).strip().lower()
    sign = -1 if raw.startswith("-") else 1
    body = raw[1:] if sign < 0 else raw
    match = _BYTE_STRING.match(body)
    if match:
        unit = match.group(2) or default_unit
        if unit not in _BYTE_POWER:
            raise ValueError(f"{text!r}: invalid suffix {unit!r} (Spark accepts b, k, m, g, t, p, optionally followed by b)")
        return sign * int(match.group(1)) * 1024 ** _BYTE_POWER[unit]
    if _FRACTION.match(body):
        raise ValueError(f"{text!r}: Spark does not accept fractional sizes; use a whole number of a smaller unit (e.g. 1536m)")
    raise ValueError(f"{text!r} is not a Spark size; use a whole number and a unit such as 512m or 4g")


def parse_memory_mb(text: str) -> float:
    """A memory property (spark.executor.memory, spark.driver.memory, *.memoryOverhead) in MiB; a bare number is MiB."""
    return parse_bytes(text, "m") / MIB


def parse_duration_ms(text: str, default_unit: str = "ms") -> float:
    """A Spark duration string ('60s', '3m', '500') in milliseconds; a bare number is in `default_unit`."""
    raw = str(text).strip().lower()
    match = _BYTE_STRING.match(raw)
    if not match:
        raise ValueError(f"{text!r} is not a Spark duration; use a whole number and a unit such as 500ms, 60s, 3min")
    unit = match.group(2) or default_unit
    if unit not in _TIME_MS:
        raise ValueError(f"{text!r}: invalid time suffix {unit!r} (Spark accepts us, ms, s, m, min, h, d)")
    return int(match.group(1)) * _TIME_MS[unit]


def memory_text(mb: float) -> str:
    """A Spark memory setting for at least `mb` MiB: whole MiB rounded up to 256 MiB, or whole GiB from 8 GiB."""
    mb = int(math.ceil(mb))
    if mb >= 8192:
        return f"{-(-mb // 1024)}g"
    return f"{-(-mb // 256) * 256}m"


def executor_memory_text(mb: float) -> str:
    """spark.executor.memory for at least `mb` MiB, never below Spark's 450 MiB minimum."""
    return memory_text(max(mb, MIN_EXECUTOR_MEMORY_MB))


def default_memory_overhead_mb(executor_memory_mb: float) -> int:
    """Spark's default spark.executor.memoryOverhead: max(384 MiB, 10% of executor memory)."""
    return max(MEMORY_OVERHEAD_MIN_MB, int(executor_memory_mb * MEMORY_OVERHEAD_FACTOR))


def is_true(value: str | None) -> bool:
    """Spark's boolean reading (`"true"`, any case, surrounding blanks ignored)."""
    return value is not None and str(value).strip().lower() == "true"


# ---------------------------------------------------------------------------------------------
# The property table: when each property appeared (and, for renamed ones, what replaced it),
# and how Spark reads its value.

@dataclass(frozen=True)
class SparkProperty:
    since: tuple[int, int]
    kind: str  # bytes, int, double, bool, time, string
    unit: str = "b"  # a bare number's unit for bytes properties
    minimum: float | None = None  # smallest accepted value (in MiB for memory, else in the value's own terms)
    maximum: float | None = None
    allows_negative_one: bool = False  # -1 means "off" (autoBroadcastJoinThreshold)
    replaced_by: str | None = None  # the name Spark uses from `replaced_in` on
    replaced_in: tuple[int, int] | None = None
    note: str = ""


def _p(since: str, kind: str, **extra) -> SparkProperty:
    major, minor = since.split(".")
    return SparkProperty((int(major), int(minor)), kind, **extra)


SPARK_PROPERTIES: dict[str, SparkProperty] = {
    # resources
    "spark.executor.memory": _p("1.0", "bytes", unit="m", minimum=MIN_EXECUTOR_MEMORY_MB),
    "spark.executor.cores": _p("1.0", "int", minimum=1),
    "spark.executor.instances": _p("1.0", "int", minimum=0),
    "spark.executor.memoryOverhead": _p("2.3", "bytes", unit="m", minimum=0),
    "spark.yarn.executor.memoryOverhead": _p("1.0", "bytes", unit="m", minimum=0, replaced_by="spark.executor.memoryOverhead",
                                             replaced_in=(2, 3)),
    "spark.executor.memoryOverheadFactor": _p("3.3", "double", minimum=0),
    "spark.executor.pyspark.memory": _p("2.4", "bytes", unit="m", minimum=0),
    "spark.executor.extraJavaOptions": _p("1.0", "string"),
    "spark.driver.memory": _p("1.0", "bytes", unit="m", minimum=MIN_DRIVER_MEMORY_MB),
    "spark.driver.cores": _p("1.3", "int", minimum=1),
    "spark.driver.memoryOverhead": _p("2.3", "bytes", unit="m", minimum=0),
    "spark.driver.maxResultSize": _p("1.2", "bytes", unit="b", minimum=0),
    "spark.task.cpus": _p("1.0", "int", minimum=1),
    "spark.memory.fraction": _p("1.6", "double", minimum=0, maximum=1),
    "spark.memory.storageFraction": _p("1.6", "double", minimum=0, maximum=1),
    "spark.memory.offHeap.enabled": _p("1.6", "bool"),
    "spark.memory.offHeap.size": _p("1.6", "bytes", unit="b", minimum=0),
    # dynamic allocation
    "spark.dynamicAllocation.enabled": _p("1.2", "bool"),
    "spark.dynamicAllocation.minExecutors": _p("1.2", "int", minimum=0),
    "spark.dynamicAllocation.maxExecutors": _p("1.2", "int", minimum=1),
    "spark.dynamicAllocation.initialExecutors": _p("1.3", "int", minimum=0),
    "spark.dynamicAllocation.executorIdleTimeout": _p("1.2", "time", unit="s"),
    "spark.dynamicAllocation.cachedExecutorIdleTimeout": _p("1.4", "time", unit="s"),
    "spark.dynamicAllocation.shuffleTracking.enabled": _p("3.0", "bool"),
    "spark.shuffle.service.enabled": _p("1.2", "bool"),
    "spark.decommission.enabled": _p("3.1", "bool"),
    "spark.storage.decommission.enabled": _p("3.1", "bool"),
    "spark.storage.decommission.shuffleBlocks.enabled": _p("3.1", "bool"),
    "spark.storage.decommission.rddBlocks.enabled": _p("3.1", "bool"),
    # parallelism and shuffle
    "spark.default.parallelism": _p("1.0", "int", minimum=1),
    "spark.sql.shuffle.partitions": _p("1.1", "int", minimum=1),
    "spark.sql.files.maxPartitionBytes": _p("2.0", "bytes", unit="b", minimum=1),
    "spark.sql.files.maxRecordsPerFile": _p("2.2", "int", minimum=0),
    "spark.sql.autoBroadcastJoinThreshold": _p("1.1", "bytes", unit="b", allows_negative_one=True),
    "spark.reducer.maxSizeInFlight": _p("1.4", "bytes", unit="m", minimum=1),
    "spark.shuffle.file.buffer": _p("1.4", "bytes", unit="k", minimum=1 / 1024, maximum=MAX_SHUFFLE_FILE_BUFFER_KB / 1024),
    "spark.shuffle.io.maxRetries": _p("1.2", "int", minimum=0),
    "spark.shuffle.io.retryWait": _p("1.2", "time", unit="s"),
    "spark.shuffle.io.numConnectionsPerPeer": _p("1.2", "int", minimum=1),
    "spark.locality.wait": _p("1.0", "time", unit="ms"),
    "spark.network.timeout": _p("1.3", "time", unit="s"),
    "spark.serializer": _p("1.0", "string"),
    "spark.kryoserializer.buffer.max": _p("1.4", "bytes", unit="m", minimum=1, maximum=MAX_KRYO_BUFFER_MB - 1),
    # adaptive query execution: Spark 2.x had an experimental `spark.sql.adaptive.enabled` that only
    # coalesced post-shuffle partitions; the AQE these suggestions mean (skew joins, coalescing,
    # join switching) is Spark 3.0's, so the rules treat the family as 3.0+.
    "spark.sql.adaptive.enabled": _p("3.0", "bool", note="AQE as the rules mean it (SPARK-31412) is Spark 3.0+"),
    "spark.sql.adaptive.coalescePartitions.enabled": _p("3.0", "bool"),
    "spark.sql.adaptive.coalescePartitions.initialPartitionNum": _p("3.0", "int", minimum=1),
    "spark.sql.adaptive.coalescePartitions.minPartitionSize": _p("3.2", "bytes", unit="b", minimum=1),
    "spark.sql.adaptive.advisoryPartitionSizeInBytes": _p("3.0", "bytes", unit="b", minimum=1),
    "spark.sql.adaptive.skewJoin.enabled": _p("3.0", "bool"),
    "spark.sql.adaptive.skewJoin.skewedPartitionFactor": _p("3.0", "int", minimum=1),
    "spark.sql.adaptive.skewJoin.skewedPartitionThresholdInBytes": _p("3.0", "bytes", unit="b", minimum=0),
    "spark.sql.adaptive.localShuffleReader.enabled": _p("3.0", "bool"),
    "spark.sql.adaptive.autoBroadcastJoinThreshold": _p("3.2", "bytes", unit="b", allows_negative_one=True),
    # failures and stragglers
    "spark.task.maxFailures": _p("1.0", "int", minimum=1),
    "spark.blacklist.enabled": _p("2.1", "bool", replaced_by="spark.excludeOnFailure.enabled", replaced_in=(3, 1)),
    "spark.excludeOnFailure.enabled": _p("3.1", "bool"),
    "spark.speculation": _p("1.0", "bool"),
    "spark.speculation.multiplier": _p("1.0", "double", minimum=1),
    "spark.speculation.quantile": _p("1.0", "double", minimum=0, maximum=1),
    # GPU scheduling (Spark 3.0+) and the RAPIDS Accelerator, which runs on Spark 3.x and later only
    "spark.executor.resource.gpu.amount": _p("3.0", "int", minimum=0),
    "spark.task.resource.gpu.amount": _p("3.0", "double", minimum=0),
    "spark.rapids.sql.enabled": _p("3.0", "bool"),
    "spark.rapids.sql.concurrentGpuTasks": _p("3.0", "int", minimum=1),
    "spark.rapids.memory.gpu.allocFraction": _p("3.0", "double", minimum=0, maximum=1),
    "spark.rapids.memory.gpu.reserve": _p("3.0", "bytes", unit="b", minimum=0),
    "spark.rapids.memory.pinnedPool.size": _p("3.0", "bytes", unit="b", minimum=0),
    "spark.rapids.sql.batchSizeBytes": _p("3.0", "bytes", unit="b", minimum=1),
    "spark.rapids.sql.reader.batchSizeBytes": _p("3.0", "bytes", unit="b", minimum=1),
}
OLDEST_VERSION = (1, 0)


def property_available(key: str, spark_version: str | None) -> bool:
    """Whether `key` does what its name says in `spark_version`.

    Unknown version: only properties every Spark has. A property renamed later (spark.blacklist.enabled)
    is available until its replacement appears. A key not in the table is not judged (True): Spark
    accepts any spark.* key, and tests check that every key the project suggests is in the table.
    """
    prop = SPARK_PROPERTIES.get(key)
    if prop is None:
        return True
    version = parse_version(spark_version)
    if version is None:
        return prop.since <= OLDEST_VERSION and prop.replaced_in is None
    if version < prop.since:
        return False
    return prop.replaced_in is None or version < prop.replaced_in


def property_name_for(key: str, spark_version: str | None) -> str | None:
    """The name under which `key`'s setting exists in `spark_version` (a renamed property's older or
    newer name), or None when that version has no such setting."""
    if property_available(key, spark_version):
        return key
    for name, prop in SPARK_PROPERTIES.items():
        if prop.replaced_by == key and property_available(name, spark_version):
            return name
    prop = SPARK_PROPERTIES.get(key)
    if prop is not None and prop.replaced_by and property_available(prop.replaced_by, spark_version):
        return prop.replaced_by
    return None


def _size_problem(key: str, value: str, prop: SparkProperty) -> str | None:
    size = parse_bytes(value, prop.unit)
    if size < 0:
        if prop.allows_negative_one and size == -parse_bytes("1", prop.unit):
            return None
        return f"{key}={value}: a size must not be negative"
    mb = size / MIB
    if prop.minimum is not None and mb < prop.minimum:
        return f"{key}={value}: Spark requires at least {prop.minimum:g} MiB ({int(prop.minimum * MIB)} bytes)"
    if prop.maximum is not None and mb > prop.maximum:
        return f"{key}={value}: Spark requires at most {prop.maximum:g} MiB"
    return None


def _number_problem(key: str, value: str, prop: SparkProperty) -> str | None:
    try:
        number = int(str(value).strip()) if prop.kind == "int" else float(str(value).strip())
    except ValueError:
        return f"{key}={value}: Spark expects {'a whole number' if prop.kind == 'int' else 'a number'}"
    if not math.isfinite(number):
        return f"{key}={value}: Spark expects a finite number"
    if prop.minimum is not None and number < prop.minimum:
        return f"{key}={value}: must be at least {prop.minimum:g}"
    if prop.maximum is not None and number > prop.maximum:
        return f"{key}={value}: must be at most {prop.maximum:g}"
    return None


def value_problem(key: str, value: str) -> str | None:
    """Why Spark would refuse `key=value` (None when it accepts it, or the key is not in the table)."""
    prop = SPARK_PROPERTIES.get(key)
    if prop is None:
        return None
    try:
        if prop.kind == "bytes":
            return _size_problem(key, value, prop)
        if prop.kind == "time":
            parse_duration_ms(value, prop.unit)
    except ValueError as exc:
        return f"{key}: {exc}"
    if prop.kind in ("int", "double"):
        return _number_problem(key, value, prop)
    if prop.kind == "bool" and str(value).strip().lower() not in ("true", "false"):
        return f"{key}={value}: Spark expects true or false"
    return None


def _int(conf: Mapping[str, str], key: str) -> int | None:
    try:
        return int(str(conf[key]).strip()) if key in conf else None
    except ValueError:
        return None


def validation_problems(conf: Mapping[str, str], spark_version: str | None) -> list[str]:
    """Everything Spark `spark_version` would refuse, ignore, or find contradictory in `conf` (empty when none).

    Covers: properties the version lacks, values Spark's own parsers and checks refuse (sizes,
    numbers, booleans, durations, the 450 MiB memory minimum), spark.executor.cores below
    spark.task.cpus, and dynamic-allocation bounds (min <= initial/instances <= max, max > 0).

    Example::

        validation_problems({"spark.executor.memory": "384m"}, "4.0.1")
        # ['spark.executor.memory=384m: Spark requires at least 450 MiB (471859200 bytes)']
    """
    problems = []
    version = parse_version(spark_version)
    for key, value in conf.items():
        if not property_available(key, spark_version):
            prop = SPARK_PROPERTIES[key]
            if prop.replaced_in and version and version >= prop.replaced_in:
                problems.append(f"{key} is replaced by {prop.replaced_by} from Spark {'.'.join(map(str, prop.replaced_in))}")
            else:
                problems.append(f"{key} does not exist before Spark {'.'.join(map(str, prop.since))} "
                                f"(the application runs {spark_version or 'an unknown version'})")
        problem = value_problem(key, value)
        if problem:
            problems.append(problem)
    executor_cores, task_cpus = _int(conf, "spark.executor.cores"), _int(conf, "spark.task.cpus") or 1
    if executor_cores is not None and executor_cores < task_cpus:
        problems.append(f"spark.executor.cores={executor_cores} is below spark.task.cpus={task_cpus}")
    if is_true(conf.get("spark.dynamicAllocation.enabled")):
        tracking = is_true(conf.get("spark.dynamicAllocation.shuffleTracking.enabled")) and version is not None and version >= (3, 0)
        if not is_true(conf.get("spark.shuffle.service.enabled")) and not tracking:
            # ExecutorAllocationManager.validateSettings (cluster masters; local mode ignores dynamic allocation)
            problems.append("spark.dynamicAllocation.enabled=true requires spark.shuffle.service.enabled=true"
                            + (" or spark.dynamicAllocation.shuffleTracking.enabled=true" if version is None or version >= (3, 0)
                               else f" (shuffle tracking needs Spark 3.0; the application runs {spark_version})"))
        low = _int(conf, "spark.dynamicAllocation.minExecutors")
        high = _int(conf, "spark.dynamicAllocation.maxExecutors")
        if low is not None and high is not None and low > high:
            problems.append(f"spark.dynamicAllocation.minExecutors={low} is above spark.dynamicAllocation.maxExecutors={high}")
        for key in ("spark.dynamicAllocation.initialExecutors", "spark.executor.instances"):
            count = _int(conf, key)
            if count is None:
                continue
            if high is not None and count > high:
                problems.append(f"{key}={count} is above spark.dynamicAllocation.maxExecutors={high}")
            if low is not None and count < low:
                problems.append(f"{key}={count} is below spark.dynamicAllocation.minExecutors={low}")
    return problems
