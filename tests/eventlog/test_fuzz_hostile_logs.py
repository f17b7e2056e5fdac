"""Property: whatever a log from ../shared/eventlogs is mutated into (wrong types, nulls, huge
numbers, duplicated and reordered events, colliding ids, damaged compression), the batch
finishes, every file gets an ingest_log row, no stored figure is impossible and the untouched
logs' rows are exactly those they have alone.

Two levels: the parser alone (many examples, no Spark: every row must convert to its table's
Arrow type) and whole ingestion batches over Spark (a few examples, each a batch of mutated logs
beside untouched ones)."""

from __future__ import annotations

import copy
import json
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spark_optimizer.eventlog.arrow_rows import ipc_stream
from spark_optimizer.tables.instants import epoch_ms
from spark_optimizer.eventlog.codecs import open_decompressed
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import EVENT_LOG_TABLES, INGEST_LOG
from tests.conftest import PINNED_RUN_TIME, SHARED_EVENTLOGS
from tests.eventlog.test_hostile_logs import parsed, write_log

SPECS = {spec.name: spec for spec in EVENT_LOG_TABLES}
# Real logs of four Spark generations (1.2, 2.x on YARN, 3.x standalone, 4.0 local).
JSON_BASES = (
    "generated/local-1795476299058",
    "public/apache__spark/local-1422981759269",
    "public/apache__spark/application_1555004656427_0144",
    "public/ucesys__sparkscope/app-20231025121456-0004-eventLog-finished",
)
CODEC_BASES = ("generated/local-1795476239234.lz4", "generated/local-1795476254430.snappy",
               "generated/local-1795476268849.lzf", "generated/local-1795476283857.zstd")
UNTOUCHED = "public/apache__spark/app-20180109111548-0000"
HOSTILE_VALUES = st.sampled_from([
    None, "abc", "", "12", 1.5, float("1e300"), -1, -(2**63), 2**63, 2**64 + 5, 10**16, 10**30, True, [], {},
    [1, "x"], {"a": None}, "1#2", "a\nb",
])
PARSER_EXAMPLES = 150
BATCH_EXAMPLES = 4
LOGS_PER_BATCH = 6


def _events(relative: str) -> list[dict]:
    path = SHARED_EVENTLOGS / relative
    with open(path, "rb") as raw:
        return [json.loads(line) for line in open_decompressed(raw, "none") if line.strip()]


@pytest.fixture(scope="module")
def bases(shared_eventlogs):
    return {relative: _events(relative) for relative in JSON_BASES}


def _mutate_value(data, node) -> None:
    """Replace one value somewhere inside `node` (a dict or list) with a hostile one."""
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, (dict, list)) and child and data.draw(st.booleans()):
            node = child
            continue
        node[key] = data.draw(HOSTILE_VALUES)
        return


def _collide(data, events: list[dict]) -> None:
    """Give one task, job or stage the id of another of the same log."""
    field_of = {"SparkListenerTaskEnd": ("Task Info", "Task ID"), "SparkListenerJobStart": (None, "Job ID"),
                "SparkListenerStageCompleted": ("Stage Info", "Stage ID")}
    kind = data.draw(st.sampled_from(sorted(field_of)))
    holder, name = field_of[kind]
    same = [e.get(holder) if holder else e for e in events if e.get("Event") == kind]
    same = [h for h in same if isinstance(h, dict) and name in h]
    if len(same) >= 2:
        a, b = data.draw(st.sampled_from(same)), data.draw(st.sampled_from(same))
        a[name] = b[name]


def mutated_events(data, events: list[dict]) -> tuple[list[dict], list[str]]:
    events = copy.deepcopy(events)
    done = []
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["value", "value", "duplicate", "reorder", "collide", "drop"]))
        i = data.draw(st.integers(0, len(events) - 1))
        if kind == "value":
            _mutate_value(data, events[i])
        elif kind == "duplicate":
            events.insert(data.draw(st.integers(0, len(events))), copy.deepcopy(events[i]))
        elif kind == "reorder":
            j = data.draw(st.integers(0, len(events) - 1))
            events[i], events[j] = events[j], events[i]
        elif kind == "collide":
            _collide(data, events)
        elif events[i]:
            events[i].pop(data.draw(st.sampled_from(sorted(events[i]))))
        done.append(f"{kind}@{i}")
    return events, done


def damaged_bytes(data, raw: bytes) -> bytes:
    """Compressed bytes cut short or with bytes overwritten."""
    if data.draw(st.booleans()):
        return raw[: data.draw(st.integers(0, len(raw) - 1))]
    damaged = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 8))):
        damaged[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    return bytes(damaged)


def impossible(table: str, row: dict) -> list[str]:
    """Figures no Spark application can have: out of the column's type, negative where a count,
    a size or a time is meant, a time after today, an end before its start."""
    latest = int(time.time() * 1000) + 24 * 3600 * 1000
    found = []
    for column in SPECS[table].columns:
        value = row.get(column.name)
        if value is None:
            continue
        if column.type in ("long", "int"):
            bits = 63 if column.type == "long" else 31
            if type(value) is not int or not -(2**bits) <= value < 2**bits:
                found.append(f"{column.name}={value!r}")
            elif value < 0 and column.name.endswith(("_ms", "_bytes", "_count", "_records")):
                found.append(f"{column.name}={value!r}")
            elif column.name.endswith("_time_ms") and value > latest:
                found.append(f"{column.name}={value!r}")
        elif column.type == "timestamp" and column.name.endswith("_time"):
            # an instant: a datetime, or epoch ms in a task row (arrow_rows makes it a timestamp)
            if not 0 <= (value if type(value) is int else epoch_ms(value)) <= latest:
                found.append(f"{column.name}={value!r}")
        elif column.type == "string" and type(value) is not str:
            found.append(f"{column.name}={value!r}")
    for start, end in (("start_time", "end_time"), ("submission_time", "completion_time")):
        if row.get(start) is not None and row.get(end) is not None and row[end] < row[start]:
            found.append(f"{end} before {start}")
    return found


@settings(max_examples=PARSER_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_the_parser_turns_any_mutation_of_a_real_log_into_a_record_and_possible_rows(data, bases, tmp_path):
    if data.draw(st.integers(0, 4)) == 0:
        relative = data.draw(st.sampled_from(CODEC_BASES))
        path = tmp_path / Path(relative).name
        path.write_bytes(damaged_bytes(data, (SHARED_EVENTLOGS / relative).read_bytes()))
    else:
        relative = data.draw(st.sampled_from(JSON_BASES))
        events, _ = mutated_events(data, bases[relative])
        path = tmp_path / Path(relative).name
        write_log(path, events)
    record, rows = parsed(path)
    assert record["status"] in ("ingested", "partial", "failed")
    assert record["status"] == "ingested" or record["reason"], "a partial or failed log says why"
    if record["status"] == "failed":
        return
    for table, table_rows in rows.items():
        ipc_stream(SPECS[table], table_rows)  # every row converts to its table's types
        if table != "tasks":
            for row in table_rows:
                assert not impossible(table, row), (table, impossible(table, row), record["reason"])
    for task in rows.get("tasks", []):
        named = dict(zip(SPECS["tasks"].column_names, task))
        assert not impossible("tasks", named), (impossible("tasks", named), record["reason"])
    ipc_stream(INGEST_LOG, [record])


@pytest.fixture(scope="module")
def untouched_alone(spark, tmp_path_factory, shared_eventlogs):
    from spark_optimizer.config import load_settings
    from spark_optimizer.tables.store import TableStore

    folder = tmp_path_factory.mktemp("alone")
    shutil.copy(SHARED_EVENTLOGS / UNTOUCHED, folder)
    store = TableStore(spark, load_settings(warehouse=str(tmp_path_factory.mktemp("alone-warehouse")), environ={}))
    ingest_event_logs(spark, store, str(folder), PINNED_RUN_TIME)
    return {spec.name: sorted(map(repr, store.read_arrow(spec).drop_columns(["ingested_at", "source_path"]).to_pylist()))
            for spec in EVENT_LOG_TABLES}


@settings(max_examples=BATCH_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_batch_of_mutated_logs_finishes_records_every_file_and_leaves_the_good_log_as_alone(
        data, spark, bases, untouched_alone, tmp_path_factory):
    from spark_optimizer.config import load_settings
    from spark_optimizer.tables.store import TableStore

    logs = tmp_path_factory.mktemp("batch")
    shutil.copy(SHARED_EVENTLOGS / UNTOUCHED, logs)
    for number in range(LOGS_PER_BATCH):
        if number % 3 == 2:
            relative = data.draw(st.sampled_from(CODEC_BASES))
            (logs / f"{number}-{Path(relative).name}").write_bytes(
                damaged_bytes(data, (SHARED_EVENTLOGS / relative).read_bytes()))
        else:
            events, _ = mutated_events(data, bases[data.draw(st.sampled_from(JSON_BASES))])
            write_log(logs / f"{number}-mutated", events)
    store = TableStore(spark, load_settings(warehouse=str(tmp_path_factory.mktemp("warehouse")), environ={}))
    summary = ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME, batch_size=3)

    records = store.read_arrow(INGEST_LOG).to_pylist()
    assert len(records) == LOGS_PER_BATCH + 1 and len(summary.records) == LOGS_PER_BATCH + 1
    for spec in EVENT_LOG_TABLES:
        rows = store.read_arrow(spec).to_pylist()
        for row in rows:
            assert not impossible(spec.name, row), (spec.name, impossible(spec.name, row))
        good = [r for r in rows if r["source_path"].endswith(UNTOUCHED.rsplit("/", 1)[1])]
        assert sorted(repr({k: v for k, v in r.items() if k not in ("ingested_at", "source_path")})
                      for r in good) == untouched_alone[spec.name], spec.name
