"""Table specifications: one declaration per table serves Spark and Arrow (delta-rs) alike."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import types as T

# Logical column types: the scalars below, and `array<T>`, `map<string,T>` and
# `struct<name:T,...>` of them (Delta's nested types), e.g. `map<string,long>`. Instants are UTC
# timestamps (tables/instants.py converts them to and from epoch milliseconds); durations are
# milliseconds (`*_ms`). Their Arrow and Spark forms are built on first use: the event-log
# parser runs in Python workers that write Arrow through nanoarrow (task_output), and importing
# pyarrow there (with the pandas it pulls in on its first array) or pyspark.sql would cost every
# worker start a few tenths of a second of CPU.
SCALAR_TYPES = ("string", "long", "int", "double", "boolean", "timestamp")


def parse_type(text: str) -> tuple:
    """A logical type as a tree: ("string",), ("array", T), ("map", K, V), ("struct", ((name, T), ...))."""
    tree, rest = _parse(text.replace(" ", ""))
    if rest:
        raise ValueError(f"unknown column type {text!r}: unexpected {rest!r}")
    return tree


def _parse(text: str) -> tuple[tuple, str]:
    head = re.match(r"[a-z]+", text)
    name = head.group(0) if head else ""
    rest = text[len(name):]
    if name in SCALAR_TYPES:
        return (name,), rest
    if name not in ("array", "map", "struct") or not rest.startswith("<"):
        raise ValueError(f"unknown column type at {text!r}; use one of {list(SCALAR_TYPES)} or array<>, map<string,>, struct<>")
    rest = rest[1:]
    if name == "array":
        item, rest = _parse(rest)
        tree: tuple = ("array", item)
    elif name == "map":
        key, rest = _parse(rest)
        if key != ("string",) or not rest.startswith(","):
            raise ValueError(f"map keys must be strings: {text!r}")
        value, rest = _parse(rest[1:])
        tree = ("map", key, value)
    else:
        fields = []
        while True:
            field = re.match(r"([a-z_][a-z0-9_]*):", rest)
            if not field:
                raise ValueError(f"struct fields are written name:type: {text!r}")
            value, rest = _parse(rest[field.end():])
            fields.append((field.group(1), value))
            if not rest.startswith(","):
                break
            rest = rest[1:]
        tree = ("struct", tuple(fields))
    if not rest.startswith(">"):
        raise ValueError(f"unclosed {name}<...> in column type {text!r}")
    return tree, rest[1:]


@cache
def _arrow_type(text: str) -> pa.DataType:
    import pyarrow as pa

    scalars = {
        "string": pa.string(),
        "long": pa.int64(),
        "int": pa.int32(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }

    def build(tree: tuple) -> pa.DataType:
        if tree[0] == "array":
            return pa.list_(build(tree[1]))
        if tree[0] == "map":
            return pa.map_(pa.string(), build(tree[2]))
        if tree[0] == "struct":
            return pa.struct([pa.field(name, build(t), nullable=True) for name, t in tree[1]])
        return scalars[tree[0]]

    return build(parse_type(text))


@cache
def _spark_type(text: str) -> T.DataType:
    from pyspark.sql import types as T

    scalars = {
        "string": T.StringType(),
        "long": T.LongType(),
        "int": T.IntegerType(),
        "double": T.DoubleType(),
        "boolean": T.BooleanType(),
        "timestamp": T.TimestampType(),
    }

    def build(tree: tuple) -> T.DataType:
        if tree[0] == "array":
            return T.ArrayType(build(tree[1]), containsNull=True)
        if tree[0] == "map":
            return T.MapType(T.StringType(), build(tree[2]), valueContainsNull=True)
        if tree[0] == "struct":
            return T.StructType([T.StructField(name, build(t), True) for name, t in tree[1]])
        return scalars[tree[0]]

    return build(parse_type(text))


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str = ""

    def __post_init__(self) -> None:
        try:
            parse_type(self.type)
        except ValueError as error:
            raise ValueError(f"column {self.name}: {error}") from None


@dataclass(frozen=True)
class ColumnUpgrade:
    """How a column an earlier release stored as `old_type` (under `old_name`, when renamed) becomes
    this release's column: `convert` maps each stored value that is not null to the new value."""

    column: str
    old_type: str
    convert: Callable[[Any], Any]
    old_name: str | None = None

    @property
    def source(self) -> str:
        return self.old_name or self.column


@dataclass(frozen=True)
class TableSpec:
    """A Delta table: logical name, columns, natural key, the schema version of this code, and the
    upgrades that bring a table written by an earlier release to these columns (rows kept)."""

    name: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    schema_version: int
    description: str
    upgrades: tuple[ColumnUpgrade, ...] = ()

    def __post_init__(self) -> None:
        names = self.column_names
        missing = [k for k in self.keys if k not in names]
        if missing:
            raise ValueError(f"table {self.name}: key columns {missing} are not columns")
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")
        unknown = [u.column for u in self.upgrades if u.column not in names]
        if unknown:
            raise ValueError(f"table {self.name}: upgrades of undeclared columns {unknown}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    # Every stored column is nullable: keys are checked before a write instead, so that
    # Spark- and delta-rs-written tables end up with the same Delta schema.
    def spark_schema(self) -> T.StructType:
        from pyspark.sql import types as T

        return T.StructType([T.StructField(c.name, _spark_type(c.type), True) for c in self.columns])

    def arrow_schema(self) -> pa.Schema:
        import pyarrow as pa

        return pa.schema([pa.field(c.name, _arrow_type(c.type), nullable=True) for c in self.columns])

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")


def arrow_type_of(column: Column) -> pa.DataType:
    return _arrow_type(column.type)


def spark_type_of(column: Column) -> T.DataType:
    return _spark_type(column.type)
