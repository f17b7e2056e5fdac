"""The collector commands fail clearly, with exit code 2, when their server cannot be used."""

import socket

from typer.testing import CliRunner

from spark_optimizer.cli import app as cli_app


def test_an_unreachable_history_server_is_a_clear_usage_error(tmp_path):
    with socket.socket() as probe:  # a free port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(cli_app, [
        "collect-from-history-server", "--history-server-url", f"http://127.0.0.1:{port}",
        "--retries", "0", "--timeout", "2", "--warehouse", str(tmp_path / "wh"),
    ])
    assert result.exit_code == 2
    assert "check that the History Server is running" in result.output


def test_malformed_headers_are_refused(tmp_path):
    result = CliRunner().invoke(cli_app, [
        "collect-from-history-server", "--history-server-url", "http://127.0.0.1:1", "--header", "no-colon",
        "--warehouse", str(tmp_path / "wh"),
    ])
    assert result.exit_code == 2 and "Name: value" in result.output


def test_an_unreachable_prometheus_is_a_clear_usage_error(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(cli_app, [
        "collect-from-metrics", "--metrics-endpoint", f"http://127.0.0.1:{port}", "--retries", "0",
        "--timeout", "2", "--warehouse", str(tmp_path / "wh"),
    ])
    assert result.exit_code == 2 and "check that Prometheus is running" in result.output
