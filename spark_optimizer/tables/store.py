"""One table API over two backends that write the same Delta tables.

- `SparkDeltaBackend`: Spark's own Delta writer, when the session has Delta (Databricks, EMR,
  `--packages io.delta:delta-spark_...`).
- `DeltaRsBackend`: delta-rs (`deltalake`) from Arrow, the embedded default; Spark reads the
  table's active Parquet files, so no Delta jars are needed.

Both stamp every commit with the schema version of the code that wrote it, both add columns
that a newer table spec declares (Delta schema evolution) before writing, and both rewrite a
table whose columns an earlier release stored in another form (tables/migrate.py) before it is
first read or written.
"""

from __future__ import annotations

import json
import random
import time
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator, Mapping, Protocol, Sequence, TypeVar

import pyarrow as pa
from pyspark import SparkContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_optimizer.config import Settings
from spark_optimizer.errors import TableNotFoundError, TableSchemaError
from spark_optimizer.tables.migrate import delta_logical_type, logical_type, upgrade_table
from spark_optimizer.tables import app_rows
from spark_optimizer.tables.applications import APPLICATIONS
from spark_optimizer.tables.schema import TableSpec, arrow_type_of, spark_type_of

SCHEMA_VERSION_KEY = "spark_optimizer.schema_version"
# A callable gives a fresh stream of record batches each time a commit is tried: rows written as
# they are read, never held as one table (delta-rs streams them into its Parquet files).
BatchStream = Callable[[], pa.RecordBatchReader]
TableData = DataFrame | pa.Table | BatchStream
Result = TypeVar("Result")
# What a writer that lost a race to another writer's commit raises (delta-rs, Delta on Spark),
# and what two writers creating the same table at once raise.
_CONFLICTS = (
    "CommitFailedError", "ConcurrentAppendException", "ConcurrentDeleteReadException",
    "ConcurrentDeleteDeleteException", "ConcurrentTransactionException", "MetadataChangedException",
    "ProtocolChangedException", "ConcurrentWriteException", "already exists", "Version mismatch",
)
COMMIT_ATTEMPTS = 8
COMMIT_BACKOFF_S = 0.2


def is_commit_conflict(error: BaseException) -> bool:
    text = f"{type(error).__name__}: {error}"
    return any(marker in text for marker in _CONFLICTS)


def with_commit_retry(commit: Callable[[], Result], what: str, attempts: int = COMMIT_ATTEMPTS,
                      backoff_s: float = COMMIT_BACKOFF_S) -> Result:
    """Run `commit`, again after a growing random pause each time another writer's commit to the
    same table won the race (each try re-reads the table, so it applies to the newest version)."""
    attempt = 1
    while True:
        try:
            return commit()
        except Exception as error:  # noqa: BLE001  (only conflicts are retried)
            if attempt >= attempts or not is_commit_conflict(error):
                if attempt > 1:
                    error.add_note(f"{what}: gave up after {attempt} commit attempts")
                raise
        time.sleep(random.uniform(0.5, 1.0) * backoff_s * 2 ** (attempt - 1))
        attempt += 1


def conform_dataframe(spec: TableSpec, df: DataFrame) -> DataFrame:
    """Columns of `spec`, in order, cast to their declared types; absent ones are null."""
    extra = sorted(set(df.columns) - set(spec.column_names))
    if extra:
        raise TableSchemaError(
            f"table {spec.name}: data has columns {extra} that the table does not declare; "
            f"declared columns are {spec.column_names}"
        )
    return df.select(
        [
            (F.col(f"`{c.name}`") if c.name in df.columns else F.lit(None)).cast(spark_type_of(c)).alias(c.name)
            for c in spec.columns
        ]
    )


def conform_arrow(spec: TableSpec, table: pa.Table) -> pa.Table:
    extra = sorted(set(table.column_names) - set(spec.column_names))
    if extra:
        raise TableSchemaError(
            f"table {spec.name}: data has columns {extra} that the table does not declare; "
            f"declared columns are {spec.column_names}"
        )
    arrays = []
    for c in spec.columns:
        target = arrow_type_of(c)
        if c.name in table.column_names:
            arrays.append(table.column(c.name).cast(target))
        else:
            arrays.append(pa.nulls(table.num_rows, type=target))
    return pa.Table.from_arrays(arrays, schema=spec.arrow_schema())


def conform_batches(spec: TableSpec, batches: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """`conform_arrow` and the key check applied batch by batch, as the writer pulls them."""
    def conformed():
        for batch in batches:
            table = conform_arrow(spec, pa.Table.from_batches([batch]))
            check_keys_present(spec, table)
            yield from table.to_batches()

    return pa.RecordBatchReader.from_batches(spec.arrow_schema(), conformed())


def arrow_to_dataframe(spark: SparkSession, table: pa.Table, spec: TableSpec) -> DataFrame:
    """An Arrow table as a Spark DataFrame with the spec's schema (pyspark 3.5 takes no Arrow input)."""
    try:
        return spark.createDataFrame(table)  # pyspark >= 4.0
    except TypeError:
        return spark.createDataFrame([tuple(row.values()) for row in table.to_pylist()], spec.spark_schema())
    except Exception as exc:  # pyspark 3.5 raises its own PySparkTypeError
        if "CANNOT_INFER_SCHEMA" not in str(exc):
            raise
        return spark.createDataFrame([tuple(row.values()) for row in table.to_pylist()], spec.spark_schema())


def dataframe_to_arrow(df: DataFrame) -> pa.Table:
    if hasattr(df, "toArrow"):  # pyspark >= 4.0
        return df.toArrow()
    batches = df._collect_as_arrow()  # pyspark 3.5
    if not batches:  # an empty DataFrame has no batch to take the schema from
        from pyspark.sql.pandas.types import to_arrow_schema

        return to_arrow_schema(df.schema).empty_table()
    return pa.Table.from_batches(batches)


def delta_table(path: str, storage_options: dict[str, str] | None = None, as_of: datetime | None = None):
    """The Delta table at `path`, at its newest version or the newest committed by `as_of`."""
    from deltalake import DeltaTable

    table = DeltaTable(path, storage_options=storage_options)
    if as_of is not None:
        table.load_as_version(as_of)
    return table


def read_delta_arrow(path: str, schema: pa.Schema, columns: list[str] | None = None, filter=None,
                     storage_options: dict[str, str] | None = None, as_of: datetime | None = None) -> pa.Table:
    """A Delta table's active files as one Arrow table (columns a file lacks come back null),
    optionally only `columns` of the rows matching `filter` (a pyarrow.compute expression), as of
    the moment `as_of` when given.

    Local tables are read with pyarrow's own file system: delta-rs' Rust file-system handler
    leaves threads that can abort the interpreter at exit ("terminate called without an active
    exception", delta-io/delta-rs#2184). Tables with deletion vectors go through delta-rs.
    """
    import pyarrow.dataset as ds

    table = delta_table(path, storage_options, as_of)
    if "deletionVectors" in (table.protocol().reader_features or []) or "://" in path and not path.startswith("file://"):
        data = table.to_pyarrow_table()
        if filter is not None:
            data = data.filter(filter)
        data = data.select([c for c in data.column_names if c in schema.names])
        return data.select(columns) if columns is not None else data
    files = [uri[len("file://"):] if uri.startswith("file://") else uri for uri in table.file_uris()]
    if not files:
        return (pa.schema([schema.field(c) for c in columns]) if columns is not None else schema).empty_table()
    return ds.dataset(files, schema=schema, format="parquet").to_table(columns=columns, filter=filter)


def read_delta_batches(path: str, schema: pa.Schema, columns: list[str], filter=None,
                       storage_options: dict[str, str] | None = None) -> Iterator[pa.RecordBatch]:
    """`columns` of a Delta table's active files (the rows matching `filter`, when given), batch
    by batch and one file at a time: a scan of the largest table holds little memory."""
    import pyarrow.dataset as ds

    table = delta_table(path, storage_options)
    if "deletionVectors" in (table.protocol().reader_features or []) or "://" in path and not path.startswith("file://"):
        data = table.to_pyarrow_table(columns=columns)
        yield from (data.filter(filter) if filter is not None else data).to_batches()
        return
    files = [uri[len("file://"):] if uri.startswith("file://") else uri for uri in table.file_uris()]
    if files:
        scanner = ds.dataset(files, schema=schema, format="parquet").scanner(
            columns=columns, filter=filter, fragment_readahead=1, batch_readahead=1)
        yield from scanner.to_batches()


def check_keys_present(spec: TableSpec, table: pa.Table) -> None:
    for key in spec.keys:
        nulls = table.column(key).null_count
        if nulls:
            raise TableSchemaError(f"table {spec.name}: {nulls} rows have no value for key column {key!r}")


def key_predicate(keys: Sequence[str], key_rows: Iterable[Mapping[str, object]], quote) -> str:
    """SQL predicate matching exactly the given key tuples, e.g. (app_id = 'a' AND attempt_id = '')."""
    terms = []
    for row in key_rows:
        parts = []
        for k in keys:
            value = row[k]
            if value is None:
                parts.append(f"{k} IS NULL")
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                parts.append(f"{k} = {value}")
            else:
                parts.append(f"{k} = {quote(str(value))}")
        terms.append("(" + " AND ".join(parts) + ")")
    return " OR ".join(sorted(set(terms)))


def session_has_delta(spark: SparkSession | SparkContext) -> bool:
    """True when Delta Lake's Spark classes are on the driver's classpath."""
    try:
        spark._jvm.java.lang.Class.forName("io.delta.tables.DeltaTable")  # type: ignore[union-attr]
        return True
    except Exception:
        return False


class TableBackend(Protocol):
    name: str

    def exists(self, path: str) -> bool: ...
    def version(self, path: str) -> int: ...
    def columns(self, path: str) -> list[str]: ...
    def create(self, spec: TableSpec, path: str) -> None: ...
    def add_columns(self, spec: TableSpec, path: str, names: list[str]) -> None: ...
    def read(self, spark: SparkSession, spec: TableSpec, path: str, as_of: datetime | None = None) -> DataFrame: ...
    def write(self, spec: TableSpec, path: str, data: TableData, mode: str, predicate: str | None) -> None: ...
    def upsert(self, spec: TableSpec, path: str, data: TableData, newer_by: str | None = None) -> None: ...
    def quote(self, value: str) -> str: ...
    def stored_types(self, path: str) -> dict[str, str]: ...
    def read_stored(self, path: str) -> pa.Table: ...
    def replace_table(self, spec: TableSpec, path: str, table: pa.Table) -> None: ...


def _commit_metadata(spec: TableSpec) -> dict[str, str]:
    return {SCHEMA_VERSION_KEY: str(spec.schema_version)}


def _jvm_reads(spark: SparkSession, uri: str) -> bool:
    """Whether Spark's JVM has a Hadoop file system for `uri`'s scheme."""
    scheme = uri.split("://", 1)[0] if "://" in uri else "file"
    if scheme == "file":
        return True
    try:
        jvm = spark._jvm  # type: ignore[attr-defined]
        jvm.org.apache.hadoop.fs.FileSystem.getFileSystemClass(scheme, spark._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
        return True
    except Exception:  # noqa: BLE001 - UnsupportedFileSystemException through Py4J
        return False


class DeltaRsBackend:
    name = "delta-rs"

    def __init__(self, spark: SparkSession | None = None, storage_options: dict[str, str] | None = None):
        self.spark = spark
        self.storage_options = storage_options

    def _table(self, path: str):
        from deltalake import DeltaTable

        return DeltaTable(path, storage_options=self.storage_options)

    def exists(self, path: str) -> bool:
        from deltalake import DeltaTable

        return DeltaTable.is_deltatable(path, storage_options=self.storage_options)

    def version(self, path: str) -> int:
        return self._table(path).version()

    def columns(self, path: str) -> list[str]:
        return [f.name for f in self._table(path).schema().fields]

    def create(self, spec: TableSpec, path: str) -> None:
        from deltalake import CommitProperties, write_deltalake

        write_deltalake(
            path,
            spec.arrow_schema().empty_table(),
            mode="append",
            name=spec.name,
            description=spec.description,
            storage_options=self.storage_options,
            commit_properties=CommitProperties(custom_metadata=_commit_metadata(spec)),
        )

    def add_columns(self, spec: TableSpec, path: str, names: list[str]) -> None:
        from deltalake import CommitProperties, Field

        fields = [Field.from_arrow(spec.arrow_schema().field(n)) for n in names]
        self._table(path).alter.add_columns(
            fields, commit_properties=CommitProperties(custom_metadata=_commit_metadata(spec))
        )

    def read(self, spark: SparkSession, spec: TableSpec, path: str, as_of: datetime | None = None) -> DataFrame:
        files = delta_table(path, self.storage_options, as_of).file_uris()
        if not files:
            return spark.createDataFrame([], spec.spark_schema())
        if not _jvm_reads(spark, files[0]):
            # No Hadoop file system for this URI scheme in the JVM (s3:// without hadoop-aws): the
            # table comes through delta-rs and the driver instead.
            table = read_delta_arrow(path, spec.arrow_schema(), storage_options=self.storage_options, as_of=as_of)
            return arrow_to_dataframe(spark, conform_arrow(spec, table), spec)
        # An explicit schema makes Spark fill columns that older files lack with nulls.
        return spark.read.schema(spec.spark_schema()).parquet(*files)

    def _to_arrow(self, spec: TableSpec, data: TableData) -> pa.Table | pa.RecordBatchReader:
        if callable(data):
            return conform_batches(spec, data())
        table = dataframe_to_arrow(conform_dataframe(spec, data)) if isinstance(data, DataFrame) else data
        table = conform_arrow(spec, table)
        check_keys_present(spec, table)
        return table

    def write(self, spec: TableSpec, path: str, data: TableData, mode: str, predicate: str | None) -> None:
        from deltalake import CommitProperties, write_deltalake

        write_deltalake(
            path,
            self._to_arrow(spec, data),
            mode=mode,
            predicate=predicate,
            schema_mode="merge" if mode == "append" or predicate else "overwrite",
            storage_options=self.storage_options,
            commit_properties=CommitProperties(custom_metadata=_commit_metadata(spec)),
        )

    def upsert(self, spec: TableSpec, path: str, data: TableData, newer_by: str | None = None) -> None:
        from deltalake import CommitProperties

        source = self._to_arrow(spec, data)
        if isinstance(source, pa.RecordBatchReader):
            source = source.read_all()
        if source.num_rows == 0:
            return
        condition = " AND ".join(f"t.{k} = s.{k}" for k in spec.keys)
        (
            self._table(path)
            .merge(
                source,
                predicate=condition,
                source_alias="s",
                target_alias="t",
                commit_properties=CommitProperties(custom_metadata=_commit_metadata(spec)),
            )
            .when_matched_update_all(predicate=f"s.{newer_by} >= t.{newer_by}" if newer_by else None)
            .when_not_matched_insert_all()
            .execute()
        )

    @staticmethod
    def quote(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    def stored_types(self, path: str) -> dict[str, str]:
        return {f.name: delta_logical_type(f.type) for f in self._table(path).schema().fields}

    def read_stored(self, path: str) -> pa.Table:
        return read_delta_arrow(path, pa.schema(self._table(path).schema().to_arrow()))

    def replace_table(self, spec: TableSpec, path: str, table: pa.Table) -> None:
        from deltalake import CommitProperties, write_deltalake

        write_deltalake(path, conform_arrow(spec, table), mode="overwrite", schema_mode="overwrite",
                        storage_options=self.storage_options,
                        commit_properties=CommitProperties(custom_metadata=_commit_metadata(spec)))


class SparkDeltaBackend:
    name = "spark"

    def __init__(self, spark: SparkSession):
        self.spark = spark

    def _user_metadata(self, spec: TableSpec) -> str:
        return json.dumps(_commit_metadata(spec))

    def exists(self, path: str) -> bool:
        jvm = self.spark._jvm  # type: ignore[union-attr]
        return bool(jvm.io.delta.tables.DeltaTable.isDeltaTable(self.spark._jsparkSession, path))

    def version(self, path: str) -> int:
        row = self.spark.sql(f"DESCRIBE HISTORY delta.`{path}` LIMIT 1").select("version").first()
        return int(row[0]) if row else -1

    def columns(self, path: str) -> list[str]:
        return self.spark.read.format("delta").load(path).columns

    def create(self, spec: TableSpec, path: str) -> None:
        self.write(spec, path, self.spark.createDataFrame([], spec.spark_schema()), "append", None)

    def add_columns(self, spec: TableSpec, path: str, names: list[str]) -> None:
        columns = ", ".join(f"`{n}` {spec.spark_schema()[n].dataType.simpleString()}" for n in names)
        self.spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({columns})")

    def read(self, spark: SparkSession, spec: TableSpec, path: str, as_of: datetime | None = None) -> DataFrame:
        df = None
        if as_of is not None:
            try:
                df = spark.read.format("delta").option("timestampAsOf", as_of.astimezone(timezone.utc).isoformat()).load(path)
            except Exception as exc:  # noqa: BLE001
                # Delta refuses a moment after its newest commit: the newest version is that moment's.
                if "after the latest" not in str(exc) and "TIMESTAMP_GREATER_THAN_COMMIT" not in str(exc):
                    raise
        if df is None:
            df = spark.read.format("delta").load(path)
        return df.select(
            [
                (F.col(c.name) if c.name in df.columns else F.lit(None)).cast(spark_type_of(c)).alias(c.name)
                for c in spec.columns
            ]
        )

    def _dataframe(self, spec: TableSpec, data: TableData) -> DataFrame:
        if callable(data):  # Spark's writer takes a DataFrame: the stream is assembled here
            data = data().read_all()
        if isinstance(data, pa.Table):
            data = arrow_to_dataframe(self.spark, conform_arrow(spec, data), spec)
        return conform_dataframe(spec, data)

    def write(self, spec: TableSpec, path: str, data: TableData, mode: str, predicate: str | None) -> None:
        writer = (
            self._dataframe(spec, data)
            .write.format("delta")
            .mode(mode)
            .option("userMetadata", self._user_metadata(spec))
            .option("mergeSchema", "true")
        )
        if predicate:
            writer = writer.option("replaceWhere", predicate)
        writer.save(path)

    def upsert(self, spec: TableSpec, path: str, data: TableData, newer_by: str | None = None) -> None:
        from delta.tables import DeltaTable

        condition = " AND ".join(f"t.{k} = s.{k}" for k in spec.keys)
        self.spark.conf.set("spark.databricks.delta.commitInfo.userMetadata", self._user_metadata(spec))
        try:
            (
                DeltaTable.forPath(self.spark, path)
                .alias("t")
                .merge(self._dataframe(spec, data).alias("s"), condition)
                .whenMatchedUpdateAll(condition=f"s.{newer_by} >= t.{newer_by}" if newer_by else None)
                .whenNotMatchedInsertAll()
                .execute()
            )
        finally:
            self.spark.conf.unset("spark.databricks.delta.commitInfo.userMetadata")

    @staticmethod
    def quote(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def stored_types(self, path: str) -> dict[str, str]:
        from pyspark.sql.pandas.types import to_arrow_schema

        return {f.name: logical_type(f.type) for f in to_arrow_schema(self.spark.read.format("delta").load(path).schema)}

    def read_stored(self, path: str) -> pa.Table:
        return dataframe_to_arrow(self.spark.read.format("delta").load(path))

    def replace_table(self, spec: TableSpec, path: str, table: pa.Table) -> None:
        (self._dataframe(spec, table).write.format("delta").mode("overwrite").option("overwriteSchema", "true")
         .option("userMetadata", self._user_metadata(spec)).save(path))


class TableStore:
    """Reads and writes the product's Delta tables under one warehouse root.

    Example::

        store = TableStore(spark, load_settings(warehouse="/tmp/wh"))
        store.append(APPLICATIONS, applications_df)
        store.read(APPLICATIONS).count()
    """

    def __init__(self, spark: SparkSession | None, settings: Settings, backend: TableBackend | None = None, *,
                 session: Callable[[], SparkSession] | None = None):
        """`session`, with no `spark`: builds the SparkSession when a table is first read as a
        DataFrame, so work that needs none (ingestion, Arrow reads) never starts Spark SQL."""
        self._spark = spark
        self._session = session
        self.settings = settings
        self.backend = backend or self._choose_backend(spark, settings)
        self._upgraded: set[str] = set()
        self.as_of: datetime | None = None

    def snapshot(self, as_of: datetime | None = None) -> "TableStore":
        """This store reading every table as of one moment (now unless given): several reads
        then see one state of the warehouse, never an application replaced between two of them.

        Example::

            with_snapshot = store.snapshot()
            apps, tasks = with_snapshot.read_arrow(APPLICATIONS), with_snapshot.read_arrow(TASKS)
        """
        pinned = TableStore(self._spark, self.settings, self.backend, session=self._session)
        pinned.as_of = as_of or datetime.now(timezone.utc)
        pinned._upgraded = self._upgraded  # tables already upgraded need no second check
        return pinned

    @property
    def spark(self) -> SparkSession | None:
        if self._spark is None and self._session is not None:
            self._spark = self._session()
        return self._spark

    @staticmethod
    def _choose_backend(spark: SparkSession | None, settings: Settings) -> TableBackend:
        wanted = settings.table_backend
        if wanted == "spark" or (wanted == "auto" and spark is not None and session_has_delta(spark)):
            if spark is None:
                raise TableSchemaError("table_backend 'spark' needs a SparkSession")
            return SparkDeltaBackend(spark)
        return DeltaRsBackend(spark)

    def path(self, spec: TableSpec) -> str:
        return self.settings.table_path(spec.name)

    def exists(self, spec: TableSpec) -> bool:
        return self.backend.exists(self.path(spec))

    def version(self, spec: TableSpec) -> int:
        return self.backend.version(self.path(spec)) if self.exists(spec) else -1

    def ensure(self, spec: TableSpec) -> None:
        """Create the table if missing; add columns a newer spec declares (rows are kept)."""
        with_commit_retry(lambda: self._ensure(spec), f"create {spec.name}")

    def upgrade(self, spec: TableSpec) -> int | None:
        """Bring a table an earlier release wrote to this release's schema (once per store): the
        rows rewritten, or None when it was current or absent."""
        path = self.path(spec)
        if path in self._upgraded or not spec.upgrades:
            return None
        rows = (with_commit_retry(lambda: upgrade_table(self.backend, spec, path), f"upgrade {spec.name}")
                if self.backend.exists(path) else None)
        self._upgraded.add(path)
        return rows

    def _ensure(self, spec: TableSpec) -> None:
        path = self.path(spec)
        if not self.backend.exists(path):
            self.backend.create(spec, path)
            return
        self.upgrade(spec)
        present = set(self.backend.columns(path))
        missing = [n for n in spec.column_names if n not in present]
        if missing:
            self.backend.add_columns(spec, path, missing)

    def read(self, spec: TableSpec) -> DataFrame:
        if self.spark is None:
            raise TableNotFoundError("reading a table as a DataFrame needs a SparkSession; use read_arrow")
        if not self.exists(spec):
            raise TableNotFoundError(
                f"table {spec.name} does not exist at {self.path(spec)}; run `spark-optimizer collect` first"
            )
        self.upgrade(spec)
        data = self.backend.read(self.spark, spec, self.path(spec), self.as_of)
        if app_rows.is_app_row_table(spec):
            applications = self.backend.read(self.spark, APPLICATIONS, self.path(APPLICATIONS), self.as_of)
            data = app_rows.current_generation_dataframe(data, applications)
        return data

    def read_arrow(self, spec: TableSpec) -> pa.Table:
        """The table through delta-rs, with no JVM: for the CLI and quick lookups. Of the tables
        that hold an application's rows, only the generation its `applications` row names (see
        `tables.app_rows`)."""
        from deltalake import DeltaTable

        if not DeltaTable.is_deltatable(self.path(spec)):
            raise TableNotFoundError(
                f"table {spec.name} does not exist at {self.path(spec)}; run `spark-optimizer collect` first"
            )
        self.upgrade(spec)
        data = conform_arrow(spec, read_delta_arrow(self.path(spec), spec.arrow_schema(), as_of=self.as_of))
        if app_rows.is_app_row_table(spec):
            applications = read_delta_arrow(self.path(APPLICATIONS), APPLICATIONS.arrow_schema(),
                                             columns=[*app_rows.APP_KEY, app_rows.GENERATION], as_of=self.as_of) \
                if DeltaTable.is_deltatable(self.path(APPLICATIONS)) else None
            data = app_rows.current_generation_rows(data, applications) if applications is not None else data.slice(0, 0)
        return data

    def append(self, spec: TableSpec, data: TableData) -> None:
        self.ensure(spec)
        with_commit_retry(lambda: self.backend.write(spec, self.path(spec), data, "append", None), spec.name)

    def overwrite(self, spec: TableSpec, data: TableData) -> None:
        self.ensure(spec)
        with_commit_retry(lambda: self.backend.write(spec, self.path(spec), data, "overwrite", None), spec.name)

    def replace_rows(self, spec: TableSpec, data: TableData, scope_keys: Sequence[str], scope: Iterable[Mapping],
                     within: tuple[str, object] | None = None) -> None:
        """Atomically replace every row whose `scope_keys` match one of `scope` (and, with
        `within=(column, value)`, whose column holds that value) by `data`, in one Delta commit,
        so readers never see both or neither.
        """
        self.ensure(spec)
        predicate = self._scope_predicate(scope_keys, scope, within, "=")
        if not predicate:
            return
        with_commit_retry(lambda: self.backend.write(spec, self.path(spec), data, "overwrite", predicate), spec.name)

    def remove_older_rows(self, spec: TableSpec, scope_keys: Sequence[str], scope: Sequence[Mapping], column: str) -> None:
        """Delete, for each entry of `scope` (values of `scope_keys` and of `column`), the rows
        of its keys whose `column` is older than its value; one commit."""
        self.ensure(spec)
        predicate = " OR ".join(sorted(
            "(" + self._scope_predicate(scope_keys, [entry], (column, entry[column]), "<") + ")" for entry in scope))
        if predicate:
            empty = spec.arrow_schema().empty_table()
            with_commit_retry(lambda: self.backend.write(spec, self.path(spec), empty, "overwrite", predicate), spec.name)

    def _scope_predicate(self, scope_keys: Sequence[str], scope: Iterable[Mapping], condition: tuple[str, object] | None,
                         operator: str) -> str:
        predicate = key_predicate(scope_keys, scope, self.backend.quote)
        if not predicate or condition is None:
            return predicate
        column, value = condition
        literal = self.backend.quote(value.isoformat() if isinstance(value, datetime) else str(value))
        return f"({predicate}) AND {column} {operator} {literal}"

    def rows_of(self, spec: TableSpec, scope_keys: Sequence[str], scope: Iterable[Mapping],
                columns: Sequence[str] = ()) -> list[dict]:
        """The distinct `scope_keys` (and `columns`) values of the table's rows whose keys are among
        `scope`'s, reading only those columns of the rows whose first key is among the scope's."""
        import pyarrow.compute as pc

        wanted = {tuple(row[k] for k in scope_keys) for row in scope}
        if not wanted or not self.exists(spec):
            return []
        firsts = pa.array(sorted({key[0] for key in wanted}), spec.arrow_schema().field(scope_keys[0]).type)
        storage_options = getattr(self.backend, "storage_options", None)
        read = [*scope_keys, *columns]
        found: set[tuple] = set()

        def distinct(batch: pa.RecordBatch) -> None:
            batch = batch.filter(pc.is_in(batch.column(scope_keys[0]), value_set=firsts))
            if batch.num_rows:  # one row per distinct value, not one per row (tasks have millions)
                found.update(tuple(row[c] for c in read)
                             for row in pa.Table.from_batches([batch]).group_by(read).aggregate([]).to_pylist())

        try:  # the filter pushed down to the files: row groups whose statistics exclude the scope are skipped
            for batch in read_delta_batches(self.path(spec), spec.arrow_schema(), read, pc.field(scope_keys[0]).isin(firsts),
                                            storage_options):
                distinct(batch)
        except pa.ArrowNotImplementedError:
            # Files whose strings a delta-rs merge wrote as string_view refuse it ("no kernel
            # matching (string, string_view)"): filtered after reading.
            found.clear()
            for batch in read_delta_batches(self.path(spec), spec.arrow_schema(), read, None, storage_options):
                distinct(batch)
        return [dict(zip(read, values)) for values in sorted(found, key=repr) if values[:len(scope_keys)] in wanted]

    def keys_present(self, spec: TableSpec, scope_keys: Sequence[str], scope: Iterable[Mapping]) -> list[dict]:
        """Those of the `scope` key tuples that have rows in the table."""
        found = {tuple(row[k] for k in scope_keys) for row in self.rows_of(spec, scope_keys, scope)}
        return [dict(zip(scope_keys, key)) for key in sorted(found)]

    def upsert(self, spec: TableSpec, data: TableData, newer_by: str | None = None) -> None:
        """Merge on the table's natural key: update matches (with `newer_by`, only those whose
        column is not newer than the incoming row's), insert the rest; one commit."""
        self.ensure(spec)
        with_commit_retry(lambda: self.backend.upsert(spec, self.path(spec), data, newer_by), spec.name)

    def schema_version(self, spec: TableSpec) -> int | None:
        """Schema version recorded by the newest commit that carries one."""
        from deltalake import DeltaTable

        if not DeltaTable.is_deltatable(self.path(spec)):
            return None
        for commit in DeltaTable(self.path(spec)).history(50):
            if SCHEMA_VERSION_KEY in commit:
                return int(commit[SCHEMA_VERSION_KEY])
            user_metadata = commit.get("userMetadata")
            if user_metadata:
                try:
                    return int(json.loads(user_metadata)[SCHEMA_VERSION_KEY])
                except (ValueError, KeyError, TypeError):
                    continue
        return None


def delta_rs_store(settings: Settings) -> TableStore:
    """The warehouse's tables through delta-rs, whatever `table_backend` says: the store of every
    command that starts no JVM (recommend, feedback, jobs, tables, the REST API)."""
    return TableStore(None, settings, backend=DeltaRsBackend())
