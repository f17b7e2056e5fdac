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
  binary unit (b, k/kb, m/mb, g/gb, t/tb, p/pb; from Spark 4.2, SPARK-55051, also ki/kib ... pi/pib),
  no fractions, a leading '-' only for the
  properties that accept -1; a bare number is in the property's own unit (MiB for
  `spark.executor.memory`, bytes for `spark.sql.autoBroadcastJoinThreshold`, KiB for
  `spark.shuffle.file.buffer`);
- durations are `JavaUtils.timeStringAs`: a whole number and us, ms, s, m/min, h or d;
- local masters (`local`, `local[N]`, `local[N,F]`, `local[*]`) run tasks in the driver;
  `local-cluster[N,C,M]` starts N real executors of C cores and M MiB on the driver's machine;
- the defaults the rules and models assume when a property is unset (200 shuffle partitions,
  1g of executor and driver memory) are Spark's, in the table's `default`.
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
DEFAULT_SHUFFLE_PARTITIONS = 200  # spark.sql.shuffle.partitions
DEFAULT_EXECUTOR_MEMORY_MB = 1024  # spark.executor.memory: 1g
DEFAULT_DRIVER_MEMORY_MB = 1024  # spark.driver.memory: 1g

BYTE_SUFFIX_POWER = {"b": 0, "k": 1, "kb": 1, "m": 2, "mb": 2, "g": 3, "gb": 3, "t": 4, "tb": 4, "p": 5, "pb": 5}
# Spark 4.2 (SPARK-55051) also reads the IEC spellings: ki/kib ... pi/pib, still powers of 1024.
IEC_SUFFIX_POWER = {f"{letter}i{b}": BYTE_SUFFIX_POWER[letter] for letter in "kmgtp" for b in ("", "b")}
IEC_SUFFIXES_SINCE = (4, 2)
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

    `default_unit` is the property's own unit for a bare number ('m' for spark.executor.memory). The IEC
    spellings (4gib) are read too, as Spark 4.2+ reads them; `value_problem` refuses them for older versions.
    """
    raw = str(text).strip().lower()
    sign = -1 if raw.startswith("-") else 1
    body = raw[1:] if sign < 0 else raw
    match = _BYTE_STRING.match(body)
    if match:
        unit = match.group(2) or default_unit
        power = BYTE_SUFFIX_POWER.get(unit, IEC_SUFFIX_POWER.get(unit))
        if power is None:
            raise ValueError(f"{text!r}: invalid suffix {unit!r} (Spark accepts b, k, m, g, t, p, optionally followed by b; "
                             "from Spark 4.2 also ki, kib, mi, mib, gi, gib, ti, tib, pi, pib)")
        return sign * int(match.group(1)) * 1024 ** power
    if _FRACTION.match(body):
        raise ValueError(f"{text!r}: Spark does not accept fractional sizes; use a whole number of a smaller unit (e.g. 1536m)")
    raise ValueError(f"{text!r} is not a Spark size; use a whole number and a unit such as 512m or 4g")


def size_bytes(key: str, text: str) -> int:
    """`key`'s size setting in bytes, a bare number read in `key`'s own unit (MiB for spark.executor.memory,
    bytes for spark.sql.files.maxPartitionBytes, KiB for spark.shuffle.file.buffer); ValueError when Spark
    would refuse it or `key` is not a size property of the table."""
    prop = SPARK_PROPERTIES.get(key)
    if prop is None or prop.kind != "bytes":
        raise ValueError(f"{key} is not a size property of spark_rules.SPARK_PROPERTIES; add it there with its unit")
    return parse_bytes(text, prop.unit)


def size_mb(key: str, text: str) -> int:
    """`key`'s size setting in whole MiB, truncated as Spark's ByteUnit conversion does ('1500k' -> 1)."""
    size = size_bytes(key, text)
    return size // MIB if size >= 0 else -(-size // MIB)


def conf_mb(conf: Mapping[str, str], key: str) -> int | None:
    """`conf[key]` in whole MiB; None when unset or a value Spark would refuse (so it never ran with it)."""
    value = conf.get(key)
    if value is None:
        return None
    try:
        return size_mb(key, value)
    except ValueError:
        return None


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


def default_memory_overhead_mb(memory_mb: float, factor: float = MEMORY_OVERHEAD_FACTOR,
                               minimum_mb: int = MEMORY_OVERHEAD_MIN_MB) -> int:
    """Spark's default memoryOverhead for a heap of `memory_mb`: max(384 MiB, 10% of the heap), the factor
    and the minimum being spark.{executor,driver}.memoryOverheadFactor (3.3+) and .minMemoryOverhead (4.0+)."""
    return max(minimum_mb, int(memory_mb * factor))


def memory_overhead_keys(role: str = "executor") -> tuple[str, str]:
    """The properties that set a `role`'s overhead explicitly: spark.<role>.memoryOverhead, then YARN's older key."""
    return f"spark.{role}.memoryOverhead", f"spark.yarn.{role}.memoryOverhead"


def memory_overhead_mb(conf: Mapping[str, str], memory_mb: float, role: str = "executor") -> int:
    """The overhead Spark gives a `role` ('executor' or 'driver') container of `memory_mb` heap under `conf`:
    the explicit spark.<role>.memoryOverhead (spark.yarn.<role>.memoryOverhead before 2.3), else the default
    with the configured factor and minimum. ValueError when a set value is one Spark refuses."""
    for key in memory_overhead_keys(role):
        if conf.get(key) is not None and key in SPARK_PROPERTIES:
            return size_mb(key, conf[key])
    factor_key, minimum_key = f"spark.{role}.memoryOverheadFactor", f"spark.{role}.minMemoryOverhead"
    try:
        factor = float(conf.get(factor_key, MEMORY_OVERHEAD_FACTOR))
    except ValueError:
        raise ValueError(f"{factor_key}={conf[factor_key]!r} is not a number "
                         f"(Spark's default is {MEMORY_OVERHEAD_FACTOR})") from None
    minimum = size_mb(minimum_key, conf[minimum_key]) if conf.get(minimum_key) is not None else MEMORY_OVERHEAD_MIN_MB
    return default_memory_overhead_mb(memory_mb, factor, minimum)


LOCAL_MASTER_PATTERN = r"^local(?:\[(\*|[0-9]+)(?:\s*,\s*[0-9]+)?\])?$"
"""The local master spellings as one regular expression that Python and Spark's `rlike` read alike."""
_LOCAL_RE = re.compile(LOCAL_MASTER_PATTERN)
_LOCAL_CLUSTER_RE = re.compile(r"^local-cluster\[\s*([0-9]+)\s*,\s*([0-9]+)\s*,\s*([0-9]+)\s*\]$")


def is_local_master(master: str | None) -> bool:
    """local, local[N], local[N,F], local[*]: tasks run in the driver (not local-cluster, whose executors are real)."""
    return bool(_LOCAL_RE.match((master or "").strip()))


def local_master_cores(master: str | None) -> int | None:
    """Task slots of local[N] / local[N,F] / local (1); None for local[*] (the driver machine's cores) or other masters."""
    match = _LOCAL_RE.match((master or "").strip())
    if not match:
        return None
    slots = match.group(1)
    if slots is None:
        return 1
    return None if slots == "*" else int(slots)


def local_cluster_shape(master: str | None) -> tuple[int, int, int] | None:
    """(executors, cores per executor, MiB per executor) of local-cluster[N,C,M]."""
    match = _LOCAL_CLUSTER_RE.match((master or "").strip())
    return tuple(int(g) for g in match.groups()) if match else None  # type: ignore[return-value]


def runs_on_driver_machine(master: str | None) -> bool:
    """Whether every executor runs on the driver's machine: a local master or local-cluster."""
    return is_local_master(master) or local_cluster_shape(master) is not None


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
    default: str | None = None  # Spark's value when unset (only where the project relies on it)
    note: str = ""


def _p(since: str, kind: str, **extra) -> SparkProperty:
    major, minor = since.split(".")
    return SparkProperty((int(major), int(minor)), kind, **extra)


SPARK_PROPERTIES: dict[str, SparkProperty] = {
    # resources
    "spark.executor.memory": _p("1.0", "bytes", unit="m", minimum=MIN_EXECUTOR_MEMORY_MB, default=f"{DEFAULT_EXECUTOR_MEMORY_MB}m"),
    "spark.executor.cores": _p("1.0", "int", minimum=1),
    "spark.executor.instances": _p("1.0", "int", minimum=0),
    "spark.executor.memoryOverhead": _p("2.3", "bytes", unit="m", minimum=0),
    "spark.yarn.executor.memoryOverhead": _p("1.0", "bytes", unit="m", minimum=0, replaced_by="spark.executor.memoryOverhead",
                                             replaced_in=(2, 3)),
    "spark.executor.memoryOverheadFactor": _p("3.3", "double", minimum=0, default=str(MEMORY_OVERHEAD_FACTOR)),
    "spark.executor.minMemoryOverhead": _p("4.0", "bytes", unit="m", minimum=0, default=f"{MEMORY_OVERHEAD_MIN_MB}m"),
    "spark.executor.pyspark.memory": _p("2.4", "bytes", unit="m", minimum=0),
    "spark.executor.extraJavaOptions": _p("1.0", "string"),
    "spark.driver.memory": _p("1.1", "bytes", unit="m", minimum=MIN_DRIVER_MEMORY_MB, default=f"{DEFAULT_DRIVER_MEMORY_MB}m"),
    "spark.driver.cores": _p("1.3", "int", minimum=1),
    "spark.driver.memoryOverhead": _p("2.3", "bytes", unit="m", minimum=0),
    "spark.yarn.driver.memoryOverhead": _p("1.0", "bytes", unit="m", minimum=0, replaced_by="spark.driver.memoryOverhead",
                                           replaced_in=(2, 3)),
    "spark.driver.memoryOverheadFactor": _p("3.3", "double", minimum=0, default=str(MEMORY_OVERHEAD_FACTOR)),
    "spark.driver.minMemoryOverhead": _p("4.0", "bytes", unit="m", minimum=0, default=f"{MEMORY_OVERHEAD_MIN_MB}m"),
    "spark.driver.maxResultSize": _p("1.2", "bytes", unit="b", minimum=0),
    "spark.task.cpus": _p("1.0", "int", minimum=1),
    "spark.memory.fraction": _p("1.6", "double", minimum=0, maximum=1, default="0.6"),
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
    "spark.sql.shuffle.partitions": _p("1.1", "int", minimum=1, default=str(DEFAULT_SHUFFLE_PARTITIONS)),
    "spark.sql.files.maxPartitionBytes": _p("2.0", "bytes", unit="b", minimum=1, default="128m"),
    "spark.sql.files.maxRecordsPerFile": _p("2.2", "int", minimum=0),
    "spark.sql.files.openCostInBytes": _p("2.0", "bytes", unit="b", minimum=0, default="4m"),
    "spark.sql.autoBroadcastJoinThreshold": _p("1.1", "bytes", unit="b", allows_negative_one=True, default="10m"),
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
    "spark.sql.adaptive.advisoryPartitionSizeInBytes": _p("3.0", "bytes", unit="b", minimum=1, default="64m"),
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


def default_bytes(key: str) -> int:
    """Spark's default of the size property `key`, in bytes."""
    return size_bytes(key, SPARK_PROPERTIES[key].default)


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


def _iec_suffix(value: str) -> str | None:
    match = _BYTE_STRING.match(str(value).strip().lower().removeprefix("-"))
    return match.group(2) if match and match.group(2) in IEC_SUFFIX_POWER else None


def _size_problem(key: str, value: str, prop: SparkProperty, version: tuple[int, int] | None) -> str | None:
    size = parse_bytes(value, prop.unit)
    iec = _iec_suffix(value)
    if iec and (version is None or version < IEC_SUFFIXES_SINCE):
        return (f"{key}={value}: Spark reads the suffix {iec!r} from 4.2 only (the application runs "
                f"{'.'.join(map(str, version)) if version else 'an unknown version'}); write it without the 'i'")
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


def value_problem(key: str, value: str, spark_version: str | None = None) -> str | None:
    """Why Spark `spark_version` would refuse `key=value` (None when it accepts it, or the key is not in the table)."""
    prop = SPARK_PROPERTIES.get(key)
    if prop is None:
        return None
    try:
        if prop.kind == "bytes":
            return _size_problem(key, value, prop, parse_version(spark_version))
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


@dataclass(frozen=True)
class ConfProblem:
    """Something Spark would refuse, ignore or find contradictory in a configuration.

    `keys` are the properties it concerns, the one to change first; `kind` says which check found it
    (one of the *_PROBLEM names below), so callers act on it without reading `message`."""

    kind: str
    keys: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        return self.message


UNAVAILABLE_PROBLEM = "unavailable"  # the version lacks the property (or replaced it)
VALUE_PROBLEM = "value"  # Spark's parser or check refuses the value
CORES_PROBLEM = "cores"  # spark.executor.cores below spark.task.cpus
SHUFFLE_FOR_DYNAMIC_ALLOCATION_PROBLEM = "dynamic_allocation_shuffle"  # no shuffle service nor shuffle tracking
DYNAMIC_ALLOCATION_BOUNDS_PROBLEM = "dynamic_allocation_bounds"  # min <= initial/instances <= max broken


def validation_problems(conf: Mapping[str, str], spark_version: str | None) -> list[ConfProblem]:
    """Everything Spark `spark_version` would refuse, ignore, or find contradictory in `conf` (empty when none).

    Covers: properties the version lacks, values Spark's own parsers and checks refuse (sizes,
    numbers, booleans, durations, the 450 MiB memory minimum), spark.executor.cores below
    spark.task.cpus, and dynamic-allocation bounds (min <= initial/instances <= max, max > 0).

    Example::

        [str(p) for p in validation_problems({"spark.executor.memory": "384m"}, "4.0.1")]
        # ['spark.executor.memory=384m: Spark requires at least 450 MiB (471859200 bytes)']
    """
    problems = []
    version = parse_version(spark_version)
    for key, value in conf.items():
        if not property_available(key, spark_version):
            prop = SPARK_PROPERTIES[key]
            if prop.replaced_in and version and version >= prop.replaced_in:
                message = f"{key} is replaced by {prop.replaced_by} from Spark {'.'.join(map(str, prop.replaced_in))}"
            else:
                message = (f"{key} does not exist before Spark {'.'.join(map(str, prop.since))} "
                           f"(the application runs {spark_version or 'an unknown version'})")
            problems.append(ConfProblem(UNAVAILABLE_PROBLEM, (key,), message))
        problem = value_problem(key, value, spark_version)
        if problem:
            problems.append(ConfProblem(VALUE_PROBLEM, (key,), problem))
    executor_cores, task_cpus = _int(conf, "spark.executor.cores"), _int(conf, "spark.task.cpus") or 1
    if executor_cores is not None and executor_cores < task_cpus:
        problems.append(ConfProblem(CORES_PROBLEM, ("spark.executor.cores", "spark.task.cpus"),
                                    f"spark.executor.cores={executor_cores} is below spark.task.cpus={task_cpus}"))
    if is_true(conf.get("spark.dynamicAllocation.enabled")):
        problems.extend(_dynamic_allocation_problems(conf, spark_version, version))
    return problems


def _dynamic_allocation_problems(conf: Mapping[str, str], spark_version: str | None,
                                 version: tuple[int, int] | None) -> list[ConfProblem]:
    problems = []
    tracking = is_true(conf.get("spark.dynamicAllocation.shuffleTracking.enabled")) and version is not None and version >= (3, 0)
    if not is_true(conf.get("spark.shuffle.service.enabled")) and not tracking:
        # ExecutorAllocationManager.validateSettings (cluster masters; local mode ignores dynamic allocation)
        problems.append(ConfProblem(
            SHUFFLE_FOR_DYNAMIC_ALLOCATION_PROBLEM,
            ("spark.dynamicAllocation.enabled", "spark.shuffle.service.enabled", "spark.dynamicAllocation.shuffleTracking.enabled"),
            "spark.dynamicAllocation.enabled=true requires spark.shuffle.service.enabled=true"
            + (" or spark.dynamicAllocation.shuffleTracking.enabled=true" if version is None or version >= (3, 0)
               else f" (shuffle tracking needs Spark 3.0; the application runs {spark_version})")))
    low_key, high_key = "spark.dynamicAllocation.minExecutors", "spark.dynamicAllocation.maxExecutors"
    low, high = _int(conf, low_key), _int(conf, high_key)
    if low is not None and high is not None and low > high:
        problems.append(ConfProblem(DYNAMIC_ALLOCATION_BOUNDS_PROBLEM, (low_key, high_key),
                                    f"{low_key}={low} is above {high_key}={high}"))
    for key in ("spark.dynamicAllocation.initialExecutors", "spark.executor.instances"):
        count = _int(conf, key)
        if count is None:
            continue
        if high is not None and count > high:
            problems.append(ConfProblem(DYNAMIC_ALLOCATION_BOUNDS_PROBLEM, (key, high_key), f"{key}={count} is above {high_key}={high}"))
        if low is not None and count < low:
            problems.append(ConfProblem(DYNAMIC_ALLOCATION_BOUNDS_PROBLEM, (key, low_key), f"{key}={count} is below {low_key}={low}"))
    return problems
