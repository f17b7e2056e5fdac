from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import attempts_of_app_ids, epoch_ms_to_timestamp

INGEST_LOG = TableSpec(
    name="ingest_log",
    description="One row per event-log file or file group: what happened to it on its last ingestion.",
    keys=("source_path",),
    schema_version=3,
    columns=(
        Column("source_path", "string", "file, rolling folder, legacy folder or zip; '.inprogress' removed"),
        Column("source_kind", "string", "single_file|rolling_dir|databricks_rolled|legacy_dir|zip_archive"),
        Column("codec", "string", "compression of the (first) part"),
        Column("file_count", "int"),
        Column("size_bytes", "long", "bytes on storage (compressed)"),
        Column("modification_time", "timestamp", "newest part's modification time (UTC)"),
        Column("fingerprint", "string", "what decides whether a re-run has work to do"),
        Column("status", "string", "ingested|partial|failed|duplicate"),
        Column("reason", "string", "why it failed or what was skipped: file, line and what was wrong"),
        Column("attempts", "array<struct<app_id:string,attempt_id:string>>",
               "the application attempts it held (attempt_id '' for an application's one unnamed attempt)"),
        Column("complete", "boolean", "every application in it logged SparkListenerApplicationEnd"),
        Column("line_count", "long"),
        Column("bad_line_count", "long"),
        Column("uncompressed_bytes", "long"),
        Column("rows_written", "long"),
        Column("parse_duration_ms", "long"),
        Column("parsed_by", "string", "executor id and host of the Spark task that parsed it"),
        Column("parser_version", "string"),
        Column("ingested_at", "timestamp"),
    ),
    upgrades=(ColumnUpgrade("modification_time", "long", epoch_ms_to_timestamp, old_name="modification_time_ms"),
              ColumnUpgrade("attempts", "array<string>", attempts_of_app_ids, old_name="app_ids")),
)
