"""Upgrades a table written by an earlier release to this release's spec, in one overwrite commit.

A column is due when the stored table still has it in its old form (`ColumnUpgrade.old_type`, under
its old name when renamed). Every row is read, the due columns are converted (value by value, or a whole column at once in Arrow
where the conversion has that form: epoch milliseconds), and the
table is rewritten with the new schema; the row count is checked before the commit is trusted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from spark_optimizer.errors import TableSchemaError
from spark_optimizer.tables.schema import ColumnUpgrade, TableSpec, arrow_type_of
from spark_optimizer.tables.upgrades import WHOLE_COLUMN_CONVERSIONS

if TYPE_CHECKING:
    import pyarrow as pa

    from spark_optimizer.tables.store import TableBackend

_DELTA_PRIMITIVES = {"string": "string", "long": "long", "integer": "int", "double": "double", "boolean": "boolean",
                     "timestamp": "timestamp", "timestamp_ntz": "timestamp"}


def delta_logical_type(delta_type: Any) -> str:
    """The logical type (schema.py) of a column in a Delta log's schema as deltalake reads it (no pyarrow)."""
    kind = type(delta_type).__name__
    if kind == "PrimitiveType":
        return _DELTA_PRIMITIVES.get(delta_type.type, "other")
    if kind == "ArrayType":
        return f"array<{delta_logical_type(delta_type.element_type)}>"
    if kind == "MapType":
        return f"map<string,{delta_logical_type(delta_type.value_type)}>"
    if kind == "StructType":
        return "struct<" + ",".join(f"{f.name}:{delta_logical_type(f.type)}" for f in delta_type.fields) + ">"
    return "other"


def logical_type(arrow_type: pa.DataType) -> str:
    """The logical type (schema.py) an Arrow type stores; `other` for types no spec declares."""
    import pyarrow as pa

    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        return "string"
    if pa.types.is_map(arrow_type):
        return f"map<string,{logical_type(arrow_type.item_type)}>"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"array<{logical_type(arrow_type.value_type)}>"
    if pa.types.is_struct(arrow_type):
        return "struct<" + ",".join(f"{f.name}:{logical_type(f.type)}" for f in arrow_type) + ">"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    names = {pa.int64(): "long", pa.int32(): "int", pa.float64(): "double", pa.bool_(): "boolean"}
    return names.get(arrow_type, "other")


def due_upgrades(spec: TableSpec, stored: Mapping[str, str]) -> list[ColumnUpgrade]:
    """The upgrades whose column a table with `stored` {column: logical type} still holds in its old form."""
    return [u for u in spec.upgrades
            if stored.get(u.source) == u.old_type and (u.old_name is None or u.column not in stored)]


def upgraded(spec: TableSpec, table: pa.Table, upgrades: list[ColumnUpgrade]) -> pa.Table:
    """`table` (as the earlier release stored it) with each upgrade's column converted."""
    import pyarrow as pa

    for u in upgrades:
        target = arrow_type_of(spec.column(u.column))
        try:
            whole_column = WHOLE_COLUMN_CONVERSIONS.get(u.convert)
            if whole_column is not None:
                column = whole_column(table.column(u.source), target)
            else:
                column = pa.array([None if v is None else u.convert(v) for v in table.column(u.source).to_pylist()],
                                  type=target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as error:
            raise TableSchemaError(f"table {spec.name}: cannot upgrade column {u.source!r} ({u.old_type}) to "
                                   f"{u.column!r} ({spec.column(u.column).type}): {error}") from error
        table = table.drop_columns([u.source]).append_column(u.column, column)
    kept = [n for n in table.column_names if n in spec.column_names]
    return table.select(kept)


def upgrade_table(backend: TableBackend, spec: TableSpec, path: str) -> int | None:
    """Rewrite the table at `path` in this release's schema when an earlier release wrote it:
    the number of rows upgraded, or None when nothing was due."""
    due = due_upgrades(spec, backend.stored_types(path))
    if not due:
        return None
    table = upgraded(spec, backend.read_stored(path), due)
    backend.replace_table(spec, path, table)
    return table.num_rows
