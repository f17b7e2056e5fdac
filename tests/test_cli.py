"""The CLI's one vocabulary: `--format text|json` on every command that prints a result, results on
stdout and messages on stderr, exit codes 0/1/2 (docs/cli-reference.md), one time-filter style, one
History Server credential parser."""

from __future__ import annotations

import json
import shutil

import pytest
import typer
from typer.testing import CliRunner

from spark_optimizer.cli import app
from spark_optimizer.runners.collect import request_auth
from spark_optimizer.runners.result import EXIT_SOME_WORK_FAILED, EXIT_USAGE
from tests.conftest import REPO_ROOT

C3O_GREP = REPO_ROOT.parent / "shared" / "datasets" / "c3o" / "grep.tsv"
# Commands that print no result: serve runs a server.
NO_RESULT = {"serve"}


def commands() -> dict[str, object]:
    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="spark-optimizer")
    return {name: root.get_command(ctx, name) for name in root.list_commands(ctx)}


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("name", sorted(set(commands()) - NO_RESULT))
def test_every_command_that_prints_a_result_takes_format_text_or_json(name):
    [fmt] = [p for p in commands()[name].params if "--format" in getattr(p, "opts", ())]
    assert fmt.default == "text"
    wrong = invoke(name, "--format", "xml")
    assert wrong.exit_code == EXIT_USAGE and "--format" in wrong.stderr and wrong.stdout == ""


def test_timeout_means_seconds_per_request_wherever_it_appears():
    for name, command in commands().items():
        for param in command.params:
            if "--timeout" in getattr(param, "opts", ()):
                assert param.help == "Seconds per request.", name


def test_a_warehouse_that_does_not_exist_is_exit_2_with_the_reason_on_stderr(tmp_path):
    missing = str(tmp_path / "does" / "not" / "exist")
    for args in (("tables",), ("jobs",), ("analyze", "application_1_0001"), ("recommend", "--job-type", "etl")):
        out = invoke(*args, "--warehouse", missing)
        assert out.exit_code == EXIT_USAGE, (args, out.output)
        assert out.stdout == "" and "error:" in out.stderr, args


def test_dates_that_are_not_dates_are_usage_errors(tmp_path):
    out = invoke("jobs", "--since", "yesterday", "--warehouse", str(tmp_path))
    assert out.exit_code == EXIT_USAGE and "YYYY-MM-DD" in out.stderr


def test_add_runs_and_tables_print_their_results_as_json_on_stdout(tmp_path):
    warehouse = str(tmp_path / "wh")
    added = invoke("add-runs", str(C3O_GREP), "--mapping", "c3o", "--warehouse", warehouse, "--format", "json")
    assert added.exit_code == 0, added.output
    result = json.loads(added.stdout)
    assert result["added"] > 0 and result["jobs"] and added.stderr == ""
    listed = invoke("tables", "--warehouse", warehouse, "--format", "json")
    assert listed.exit_code == 0, listed.output
    runs = next(t for t in json.loads(listed.stdout)["tables"] if t["table"] == "runs")
    assert runs["exists"] and runs["rows"] == result["added"]
    text = invoke("tables", "--warehouse", warehouse)
    assert text.exit_code == 0 and "runs" in text.stdout and "(missing)" in text.stdout


def test_collect_prints_its_summary_on_stdout_and_exit_1_names_the_failed_log(spark, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(REPO_ROOT / "samples" / "eventlogs" / "local-1776286786993.zstd", logs)
    (logs / "app-20260101000000-0000").write_text('{"Event":"SparkListenerApplicationStart","App Name":"x"\nnot json at all\n')
    out = invoke("collect", "--event-log-dir", str(logs), "--warehouse", str(tmp_path / "wh"), "--format", "json")
    assert out.exit_code == EXIT_SOME_WORK_FAILED, out.output
    result = json.loads(out.stdout)
    assert result["summary"]["ingested"] == 1 and result["summary"]["failed"] == 1
    assert [r["source_path"].rsplit("/", 1)[-1] for r in result["failed"]] == ["app-20260101000000-0000"]
    again = invoke("collect", "--event-log-dir", str(logs), "--warehouse", str(tmp_path / "wh"))
    assert again.exit_code == 0 and "skipped unchanged 2" in again.stdout


def test_history_server_credentials_are_parsed_in_one_place():
    environ = {"SPARK_HISTORY_PASSWORD": "s3cret", "HS_TOKEN": "tok"}
    assert request_auth("ana", None, ["X-Trace: 1"], environ) == (("ana", "s3cret"), {"X-Trace": "1"})
    assert request_auth(None, "HS_TOKEN", [], environ) == ("tok", {})
    assert request_auth(None, "UNSET", [], environ) == (None, {})
    with pytest.raises(ValueError, match="'Name: value', not 'X-Trace'"):
        request_auth(None, None, ["X-Trace"], environ)


def test_a_bad_header_is_exit_2_before_any_request(tmp_path):
    out = invoke("collect-from-history-server", "--history-server-url", "http://127.0.0.1:9", "--header", "nocolon",
                 "--warehouse", str(tmp_path))
    assert out.exit_code == EXIT_USAGE and "'Name: value'" in out.stderr


ATTEMPTS = REPO_ROOT.parent / "shared" / "eventlogs" / "public" / "NVIDIA__spark-rapids-tools" / "spark-events-qualification" / "multiple_attempts"


def test_an_attempt_is_written_app_id_slash_attempt_by_the_cli_and_the_rest_api(spark, tmp_path):
    from fastapi.testclient import TestClient

    from spark_optimizer.api import create_app
    from spark_optimizer.config import load_settings

    if not ATTEMPTS.is_dir():
        pytest.skip("../shared/eventlogs is not beside the repository")
    warehouse = str(tmp_path / "wh")
    assert invoke("collect", "--event-log-dir", str(ATTEMPTS), "--warehouse", warehouse).exit_code == 0
    page = json.loads(invoke("jobs", "--warehouse", warehouse, "--format", "json").stdout)
    refs = sorted(item["ref"] for item in page["items"])
    [app_id] = {item["app_id"] for item in page["items"]}
    assert refs == [f"{app_id}/{n}" for n in ("1", "2", "3", "4")]
    client = TestClient(create_app(load_settings(warehouse=warehouse, environ={})))
    assert client.get("/jobs", params={"limit": 50}).json() == page
    assert client.get(f"/jobs/{app_id}/2").json()["ref"] == f"{app_id}/2"
    cli = invoke("analyze", f"{app_id}/2", "--warehouse", warehouse, "--format", "json")
    assert cli.exit_code == 0, cli.output
    report = json.loads(cli.stdout)
    assert (report["application"]["app_id"], report["application"]["attempt_id"]) == (app_id, "2")
    assert client.get(f"/analyze/{app_id}/2").json() == report
    assert invoke("analyze", f"{app_id}/9", "--warehouse", warehouse).exit_code == EXIT_USAGE


def test_one_time_style_with_the_older_epoch_ms_spelling_still_taken():
    from spark_optimizer.runners.jobs import time_ms

    assert time_ms("2026-11-01") == 1_793_491_200_000
    assert time_ms("2026-11-01T06:00+01:00") == 1_793_491_200_000 + 5 * 3_600_000
    assert time_ms("2026-11-01", 42) == 42 and time_ms(None) is None
