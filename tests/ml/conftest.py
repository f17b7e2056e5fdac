from __future__ import annotations

import pytest

from spark_optimizer.analysis.analyze import analyze_applications
from spark_optimizer.config import load_settings
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables.store import TableStore
from tests.conftest import PINNED_RUN_TIME


@pytest.fixture(scope="session")
def generated_warehouse(spark, shared_eventlogs, tmp_path_factory):
    """The Spark 4.0.1 logs of ../shared/eventlogs/generated, ingested and analyzed once."""
    settings = load_settings(warehouse=str(tmp_path_factory.mktemp("generated") / "wh"), environ={})
    store = TableStore(spark, settings)
    ingest_event_logs(spark, store, str(shared_eventlogs / "generated"), PINNED_RUN_TIME)
    analyze_applications(spark, store, PINNED_RUN_TIME)
    return settings, store
