from spark_optimizer.tables._columns import APP_KEY, LINEAGE
from spark_optimizer.tables.schema import Column, TableSpec

SPARK_CONF = TableSpec(
    name="spark_conf",
    description="The application's properties from SparkListenerEnvironmentUpdate.",
    keys=("app_id", "attempt_id", "source", "key"),
    schema_version=1,
    columns=APP_KEY
    + (
        Column("source", "string", "spark (Spark Properties), system (System Properties) or jvm (JVM Information)"),
        Column("key", "string"),
        Column("value", "string"),
    )
    + LINEAGE,
)
