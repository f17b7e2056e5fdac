"""Table specifications: one declaration per table serves Spark and Arrow (delta-rs) alike."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import types as T

# Logical column types. Times from event logs stay epoch milliseconds (`*_ms`), exactly as Spark
# writes them; wall-clock stamps of our own runs are UTC timestamps. Their Arrow and Spark forms
# are built on first use: the event-log parser runs in Python workers that write Arrow through
# nanoarrow (task_output), and importing pyarrow there (with the pandas it pulls in on its first
# array) or pyspark.sql would cost every worker start a few tenths of a second of CPU.
LOGICAL_TYPES = ("string", "long", "int", "double", "boolean", "timestamp", "array<string>")


@cache
def _arrow_types() -> dict[str, pa.DataType]:
    import pyarrow as pa

    return {
        "string": pa.string(),
        "long": pa.int64(),
        "int": pa.int32(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "array<string>": pa.list_(pa.string()),
    }


@cache
def _spark_types() -> dict[str, T.DataType]:
    from pyspark.sql import types as T

    return {
        "string": T.StringType(),
        "long": T.LongType(),
        "int": T.IntegerType(),
        "double": T.DoubleType(),
        "boolean": T.BooleanType(),
        "timestamp": T.TimestampType(),
        "array<string>": T.ArrayType(T.StringType(), containsNull=True),
    }


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str = ""

    def __post_init__(self) -> None:
        if self.type not in LOGICAL_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}; use one of {sorted(LOGICAL_TYPES)}")


@dataclass(frozen=True)
class TableSpec:
    """A Delta table: logical name, columns, natural key, and the schema version of this code."""

    name: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    schema_version: int
    description: str

    def __post_init__(self) -> None:
        names = self.column_names
        missing = [k for k in self.keys if k not in names]
        if missing:
            raise ValueError(f"table {self.name}: key columns {missing} are not columns")
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    # Every stored column is nullable: keys are checked before a write instead, so that
    # Spark- and delta-rs-written tables end up with the same Delta schema.
    def spark_schema(self) -> T.StructType:
        from pyspark.sql import types as T

        types = _spark_types()
        return T.StructType([T.StructField(c.name, types[c.type], True) for c in self.columns])

    def arrow_schema(self) -> pa.Schema:
        import pyarrow as pa

        types = _arrow_types()
        return pa.schema([pa.field(c.name, types[c.type], nullable=True) for c in self.columns])

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")


def arrow_type_of(column: Column) -> pa.DataType:
    return _arrow_types()[column.type]


def spark_type_of(column: Column) -> T.DataType:
    return _spark_types()[column.type]
