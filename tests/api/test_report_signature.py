"""`spark-optimizer report --signature`: the runs of one job signature over time. Uses the trained
warehouse of tests/api (job signatures live in the `features` table, written by training)."""

from __future__ import annotations

from typer.testing import CliRunner

from spark_optimizer.cli import app as cli_app
from spark_optimizer.report_html.data import trend
from spark_optimizer.tables.instants import from_epoch_ms

TAXI = "spark-cc4d115f011443d787f03a71a476a745"


def test_trend_by_keys_takes_runs_whatever_their_names():
    apps = [{"app_id": "a", "attempt_id": "", "app_name": "orders v1", "start_time": from_epoch_ms(2_000), "duration_ms": 10},
            {"app_id": "b", "attempt_id": "1", "app_name": "orders v2", "start_time": from_epoch_ms(1_000), "duration_ms": 20},
            {"app_id": "c", "attempt_id": "", "app_name": "orders v1", "start_time": from_epoch_ms(3_000), "duration_ms": 30}]
    by_keys = trend("orders#3f2a", apps, keys={("a", ""), ("b", "1")})
    assert by_keys.app_name == "orders#3f2a" and [r.app_id for r in by_keys.runs] == ["b", "a"]
    assert [r.app_id for r in trend("orders v1", apps).runs] == ["a", "c"]  # by name, as before


def test_report_signature_writes_the_trend_page(api_warehouse, tmp_path):
    from spark_optimizer.config import load_settings
    from spark_optimizer.recommender.lookup import latest_build, read_rows

    rows = latest_build(read_rows(load_settings(warehouse=api_warehouse.path, environ={})))
    signature = next(r["job_signature"] for r in rows if r["level"] == "signature" and r["job_signature"].startswith("newyorktaxidata"))
    out = tmp_path / "trend.html"
    result = CliRunner().invoke(cli_app, ["report", "--signature", signature[:20], "--out", str(out), "--warehouse", api_warehouse.path])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert f"<h1>{signature}</h1>" in html and TAXI in html and 'id="plot-trend"' in html and "1 run(s) over time" in html


def test_report_signature_refusals(api_warehouse, tmp_path):
    runner = CliRunner()
    unknown = runner.invoke(cli_app, ["report", "--signature", "nope#1", "--out", str(tmp_path / "x.html"), "--warehouse", api_warehouse.path])
    assert unknown.exit_code == 2 and "'nope#1' is not a known job signature; known signatures: " in unknown.output
    both = runner.invoke(cli_app, ["report", TAXI, "--signature", "x", "--warehouse", api_warehouse.path])
    assert both.exit_code == 2 and "give either" in both.output
    untrained = runner.invoke(cli_app, ["report", "--signature", "x", "--warehouse", str(tmp_path / "empty")])
    assert untrained.exit_code == 2 and "run it first" in untrained.output and not (tmp_path / "x.html").exists()
