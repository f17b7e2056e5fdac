"""Canary secrets planted in a real log never reach a table, a Parquet file's statistics or the
Delta log's JSON stats; credentials in collector URLs are never printed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from spark_optimizer.collectors.history_server import HistoryServerClient, HistoryServerCollectError
from spark_optimizer.collectors.http import url_credentials, without_credentials
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.eventlog.redact import REDACTED, redacted_property, redacted_text, redaction_rule
from spark_optimizer.tables import EVENT_LOG_TABLES, SPARK_CONF, TASKS
from tests.conftest import PINNED_RUN_TIME
from tests.eventlog.test_hostile_logs import APP, first, parsed, real_events, write_log

CANARIES = {
    "spark.hadoop.fs.s3a.secret.key": "CANARY1s3a",
    "spark.databricks.token": "dapiCANARY2",
    "spark.ssl.keyStorePassword": "CANARY3",
    "spark.hadoop.fs.s3a.access.key": "CANARY4AKIA",
    "spark.eventLog.dir": "s3a://AKIAX:CANARY5@bucket/logs",
}
JAVA_COMMAND = ("org.apache.spark.deploy.SparkSubmit --conf spark.hadoop.fs.s3a.secret.key=CANARY6 "
                "--conf spark.executor.memory=4g --password CANARY7 --class Main app.jar")


def test_planted_secrets_reach_no_table_no_statistic_and_the_rest_stays_readable(spark, store, tmp_path, shared_eventlogs):
    events = real_events(shared_eventlogs)
    environment = first(events, "SparkListenerEnvironmentUpdate")
    environment["Spark Properties"].update(CANARIES)
    environment["System Properties"]["sun.java.command"] = JAVA_COMMAND
    start = next(e for e in events if e["Event"].endswith("SparkListenerSQLExecutionStart"))
    start["description"] = "load from jdbc:postgresql://etl:CANARY8@db:5432/sales"
    logs = tmp_path / "logs"
    logs.mkdir()
    write_log(logs / APP, events)
    ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME)

    stored = json.dumps([store.read_arrow(spec).to_pylist() for spec in EVENT_LOG_TABLES], default=str)
    assert "CANARY" not in stored
    warehouse = Path(store.settings.warehouse)
    delta_logs = "".join(p.read_text() for p in warehouse.rglob("_delta_log/*.json"))
    assert '"stats"' in delta_logs and "CANARY" not in delta_logs
    conf = {r["key"]: r["value"] for r in store.read_arrow(SPARK_CONF).to_pylist()}
    assert conf["spark.databricks.token"] == REDACTED and conf["spark.app.name"]  # the rest stays
    assert conf["spark.eventLog.dir"] == f"s3a://AKIAX:{REDACTED}@bucket/logs"
    assert conf["sun.java.command"] == (
        f"org.apache.spark.deploy.SparkSubmit --conf spark.hadoop.fs.s3a.secret.key={REDACTED} "
        f"--conf spark.executor.memory=4g --password {REDACTED} --class Main app.jar")


def test_the_applications_own_redaction_regex_is_spark_s_rule():
    own = redaction_rule("(?i)secret|password|token|access[.]key|my[.]private")
    assert redacted_property("spark.my.private", "x", own) == REDACTED
    assert redacted_property("spark.my.private", "x", redaction_rule(None)) == "x"
    assert redacted_property("spark.app.name", "token-refresh", redaction_rule(None)) == REDACTED  # value matches, as in Spark
    assert redaction_rule("([unclosed").pattern == redaction_rule(None).pattern


def test_credentials_in_a_history_server_url_are_used_and_never_printed():
    url = "http://admin:CANARY9@127.0.0.1:9"  # nothing listens on the discard port
    assert url_credentials(url) == ("admin", "CANARY9") and without_credentials(url) == "http://127.0.0.1:9"
    client = HistoryServerClient(url, retries=0, timeout_s=2)
    assert isinstance(client.http.auth, httpx.BasicAuth)
    with pytest.raises(HistoryServerCollectError) as failure:
        client.get_json("/applications")
    assert "CANARY9" not in str(failure.value) and "127.0.0.1:9" in str(failure.value)


FAILED_TASK_LOG = "apache__spark/application_1516285256255_0012"  # a real ExceptionFailure ("Bad executor")


def test_secrets_in_failure_reasons_and_exception_messages_are_masked_and_the_reasons_stay_readable(
        tmp_path, shared_eventlogs):
    events = [json.loads(line) for line in (shared_eventlogs / "public" / FAILED_TASK_LOG).read_bytes().splitlines()]
    task_end = next(e for e in events if e["Event"] == "SparkListenerTaskEnd"
                    and e["Task End Reason"]["Reason"] == "ExceptionFailure")
    reason = task_end["Task End Reason"]
    reason["Description"] = "Access denied with fs.s3a.secret.key=CANARY10 for s3a://etl:CANARY11@bucket/in"
    reason["Stack Trace"][0]["Method Name"] = "login(password=CANARY12)"
    reason["Full Stack Trace"] = "java.lang.RuntimeException: token: CANARY13\n\tat Main.main(Main.java:1)"
    stage = next(e for e in events if e["Event"] == "SparkListenerStageCompleted")
    stage["Stage Info"]["Failure Reason"] = "Job aborted: --password CANARY14 was refused"
    job_end = next(e for e in events if e["Event"] == "SparkListenerJobEnd")
    job_end["Job Result"] = {"Result": "JobFailed", "Exception": {
        "Message": "org.apache.spark.SparkException: Invalid password: CANARY15",
        "Stack Trace": [{"Declaring Class": "Main", "Method Name": "run", "File Name": "Main.java", "Line Number": 3}]}}
    record, rows = parsed(write_log(tmp_path / FAILED_TASK_LOG.split("/")[-1], events))

    assert record["status"] in ("ingested", "partial")
    assert "CANARY" not in json.dumps(rows, default=str)
    task = next(r for r in rows["tasks"] if r[TASKS.column_names.index("failure_reason")])
    assert task[TASKS.column_names.index("failure_reason")] == (
        f"ExceptionFailure: java.lang.RuntimeException: Access denied with fs.s3a.secret.key={REDACTED} "
        f"for s3a://etl:{REDACTED}@bucket/in")
    [failed_stage] = [r for r in rows["stages"] if r["failure_reason"]]
    assert failed_stage["failure_reason"] == f"Job aborted: --password {REDACTED} was refused"
    [job] = rows["jobs"]
    assert job["result"] == "failed"
    assert job["failure_reason"] == f"org.apache.spark.SparkException: Invalid password: {REDACTED}"


def test_free_text_keeps_its_words_and_loses_only_secret_values():
    rule = redaction_rule(None)
    assert redacted_text("Invalid password for user bob", rule) == "Invalid password for user bob"
    assert redacted_text('conf {"spark.databricks.token":"dapi1"}', rule) == f'conf {{"spark.databricks.token":{REDACTED}'
    assert redacted_text("TokenExpiredException: Token 42 expired", rule) == "TokenExpiredException: Token 42 expired"
    assert redacted_text("write to s3a://bucket/path failed", rule) == "write to s3a://bucket/path failed"
