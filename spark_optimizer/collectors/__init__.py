"""Collectors that fill the event-log tables from other sources than event-log files."""

from spark_optimizer.collectors.history_server import (
    CollectSummary,
    HistoryServerClient,
    HistoryServerCollectError,
    collect_from_history_server,
)

__all__ = ["CollectSummary", "HistoryServerClient", "HistoryServerCollectError", "collect_from_history_server"]
