"""The reports in a real browser: Debian's headless Chromium driven by Playwright, network blocked."""

from __future__ import annotations

import importlib.util

import pytest

from spark_optimizer.report_html import app_report_html, trend_report_html
from spark_optimizer.report_html.browser import find_chromium, open_report
from tests.conftest import PINNED_RUN_TIME
from tests.report.conftest import GC, IDLE, SKEWED

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH: `apt-get install -y chromium` (.ci/run installs it)"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="playwright is not installed (dev extra)"),
]
ALL_PLOTS = {"plot-executor-timeline", "plot-critical-path", "plot-task-durations", "plot-memory-gc", "plot-whatif"}


@pytest.mark.parametrize("app_id, plots", [(SKEWED, ALL_PLOTS), (GC, ALL_PLOTS), (IDLE, ALL_PLOTS - {"plot-task-durations"})])
def test_app_report_loads_cleanly_and_draws_every_plot(arrow_store, tmp_path, app_id, plots):
    path = tmp_path / f"{app_id}.html"
    path.write_text(app_report_html(arrow_store, app_id, "", PINNED_RUN_TIME), encoding="utf-8")
    check = open_report(path, chromium=CHROMIUM)
    assert check.title.startswith("Spark run report:") and app_id in check.title
    assert check.console_errors == ()
    assert check.foreign_requests == ()
    assert set(check.plot_sizes) == plots
    for plot_id, (width, height) in check.plot_sizes.items():
        assert width > 300 and height > 100, f"{plot_id} drawn at {width} x {height} px"


def test_trend_report_loads_cleanly(arrow_store, tmp_path):
    path = tmp_path / "trend.html"
    path.write_text(trend_report_html(arrow_store, "gc_pressure", PINNED_RUN_TIME), encoding="utf-8")
    check = open_report(path, chromium=CHROMIUM, screenshot=tmp_path / "trend.png")
    assert check.console_errors == () and check.foreign_requests == ()
    [(width, height)] = check.plot_sizes.values()
    assert width > 300 and height > 100
    assert (tmp_path / "trend.png").stat().st_size > 10_000


def test_the_browser_check_sees_errors_and_outside_requests(tmp_path):
    """The two checks above would catch a broken page: a script error and a fetch are both reported."""
    path = tmp_path / "broken.html"
    path.write_text('<!DOCTYPE html><title>broken</title><img src="http://example.invalid/x.png">'
                    '<script>console.error("bad"); undefinedFunction();</script>'
                    '<figure><svg id="plot-empty" width="0" height="0"></svg></figure>', encoding="utf-8")
    check = open_report(path, chromium=CHROMIUM)
    assert any("bad" in e for e in check.console_errors) and any("undefinedFunction" in e for e in check.console_errors)
    assert check.foreign_requests == ("http://example.invalid/x.png",)
    assert check.plot_sizes == {"plot-empty": (0.0, 0.0)}
