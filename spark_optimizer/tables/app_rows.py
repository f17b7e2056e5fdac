"""Rows that belong to one application attempt (jobs, stages, tasks, executors, SQL executions,
properties), replaced so that a reader sees an application's old rows or its new ones, wholly.

Each such row carries its application's `ingested_at`: its generation. A replacement adds the
new generation's rows beside the old ones, swaps the `applications` row in one commit (the moment
readers switch; a merge that never replaces a newer generation by an older one, so generations
only grow even when two writers replace one application at once), and then removes the rows of
generations older than the one the `applications` row names (dead for good, since it only grows). `TableStore` keeps, of these tables,
only the rows of the generation their `applications` row names, so a reader sees the old rows until
the swap and the new ones after it; `TableStore.snapshot()` reads every table as of one moment, so
that holds across several reads too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from spark_optimizer.tables.applications import APPLICATIONS
from spark_optimizer.tables.executors import EXECUTORS
from spark_optimizer.tables.jobs import JOBS
from spark_optimizer.tables.spark_conf import SPARK_CONF
from spark_optimizer.tables.sql_executions import SQL_EXECUTIONS
from spark_optimizer.tables.stages import STAGES
from spark_optimizer.tables.tasks import TASKS

APP_KEY = ("app_id", "attempt_id")
GENERATION = "ingested_at"
APP_ROW_TABLES = (JOBS, STAGES, TASKS, EXECUTORS, SQL_EXECUTIONS, SPARK_CONF)
_APP_ROW_NAMES = {spec.name for spec in APP_ROW_TABLES}


def is_app_row_table(spec) -> bool:
    return spec.name in _APP_ROW_NAMES


def replace_applications(store, rows: Mapping[str, object], scope: Sequence[Mapping], generation: datetime) -> list[dict]:
    """Write the applications of `scope`: `rows` by table name (`applications` and the tables of
    `APP_ROW_TABLES` the source provides), all of generation `generation`. Returns the
    applications that were stored before (keys and generation), for `remove_superseded`."""
    stored_before = store.rows_of(APPLICATIONS, APP_KEY, scope, [GENERATION])
    for spec in (spec for spec in APP_ROW_TABLES if spec.name in rows):
        # Rows of this very generation from an earlier try of the same write are replaced, not doubled.
        store.replace_rows(spec, rows[spec.name], APP_KEY, scope, within=(GENERATION, generation))
    store.upsert(APPLICATIONS, rows[APPLICATIONS.name], newer_by=GENERATION)
    return stored_before


def remove_superseded(store, scope: Sequence[Mapping], generation: datetime, stored_before: Sequence[Mapping]) -> None:
    """Drop the rows that no `applications` row will ever name again: of the applications
    stored before (`replace_applications`' answer), those of generations older than the one
    their row names now (replaced ones, and those of runs killed before their swap); of the
    applications whose swap lost to a newer generation (another writer's), this generation's.
    Rows of a killed run for an application never stored stay, unseen, until it is replaced."""
    current = store.rows_of(APPLICATIONS, APP_KEY, scope, [GENERATION])
    key = lambda row: tuple(row[k] for k in APP_KEY)  # noqa: E731
    lost = [row for row in current if row[GENERATION] > generation]
    before = {key(row) for row in stored_before}
    replaced = [row for row in current if key(row) in before and row not in lost]
    for spec in APP_ROW_TABLES:
        if not store.exists(spec):
            continue
        if lost:
            store.replace_rows(spec, spec.arrow_schema().empty_table(), APP_KEY, lost, within=(GENERATION, generation))
        if not replaced:
            continue
        newest = {key(row): row[GENERATION] for row in replaced}
        older = {key(row) for row in store.rows_of(spec, APP_KEY, replaced, [GENERATION])
                 if row[GENERATION] is not None and row[GENERATION] < newest[key(row)]}
        if older:
            store.remove_older_rows(spec, APP_KEY, [row for row in replaced if key(row) in older], GENERATION)


def _generation_keys(table: pa.Table) -> pa.ChunkedArray:
    """app_id, attempt_id and generation of each row as one string, for set membership."""
    generation = pc.cast(pc.cast(table.column(GENERATION), pa.int64()), pa.string())
    return pc.binary_join_element_wise(table.column("app_id"), table.column("attempt_id"), generation, "\x00")


def generation_index(applications: pa.Table) -> pa.Array:
    """The key and generation each `applications` row names, as the set `current_generation_rows` filters by
    (one per read of `applications`: a snapshot computes it once for all its reads)."""
    return _generation_keys(applications.select([*APP_KEY, GENERATION])).combine_chunks()


def current_generation_rows(table: pa.Table, index: pa.Array) -> pa.Table:
    """The rows of `table` whose generation is the one their application's row names (`index`:
    `generation_index` of the applications)."""
    if table.num_rows == 0:
        return table
    return table.filter(pc.is_in(_generation_keys(table), value_set=index))


def current_generation_dataframe(df, applications):
    """`current_generation_rows` for Spark DataFrames (a semi join on key and generation)."""
    return df.join(applications.select(*APP_KEY, GENERATION), [*APP_KEY, GENERATION], "left_semi")
