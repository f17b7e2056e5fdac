"""Open a report in headless Chromium (Playwright driving the system's `chromium`, no browser
download): what the page logged, what it tried to fetch, how large each plot was drawn, and
optionally a screenshot. Used by the tests and to refresh docs/images/report.png:

    python -m spark_optimizer.report_html.browser report.html --screenshot docs/images/report.png

Needs the `playwright` package (the dev extra) and Debian's `chromium` (or `--chromium PATH`).
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

from spark_optimizer.errors import SparkOptimizerError

CHROMIUM_NAMES = ("chromium", "chromium-browser")


class BrowserUnavailableError(SparkOptimizerError):
    """Thrown when no Chromium executable or no Playwright package is installed."""


@dataclass(frozen=True)
class PageCheck:
    title: str
    console_errors: tuple[str, ...]
    """console.error messages and uncaught page errors."""
    foreign_requests: tuple[str, ...]
    """Every request the page made for something other than the report file itself (blocked)."""
    plot_sizes: dict[str, tuple[float, float]]
    """id of each plot <svg> -> its drawn (width, height) in CSS pixels."""


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def open_report(html_path: Path, *, chromium: str | None = None, screenshot: Path | None = None, width: int = 1100,
                full_page: bool = True) -> PageCheck:
    """Load `html_path` from disk with the network blocked and report what happened.

    Example::

        check = open_report(Path("report.html"))
        assert not check.console_errors and all(w > 0 and h > 0 for w, h in check.plot_sizes.values())
    """
    executable = chromium or find_chromium()
    if executable is None:
        raise BrowserUnavailableError("no chromium executable on PATH; install it with `apt-get install -y chromium`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise BrowserUnavailableError("the playwright package is not installed; `pip install -e .[dev]`") from None
    url = Path(html_path).resolve().as_uri()
    errors: list[str] = []
    foreign: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))

            def route(request_route) -> None:
                if request_route.request.url == url:
                    request_route.continue_()
                else:
                    foreign.append(request_route.request.url)
                    request_route.abort()

            page.route("**/*", route)
            page.goto(url, wait_until="load")
            sizes = page.evaluate(
                "() => Object.fromEntries([...document.querySelectorAll('figure svg')].map("
                "s => [s.id, [s.getBoundingClientRect().width, s.getBoundingClientRect().height]]))"
            )
            if screenshot is not None:
                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=full_page)
            title = page.title()
        finally:
            browser.close()
    return PageCheck(title, tuple(errors), tuple(foreign), {k: (float(w), float(h)) for k, (w, h) in sizes.items()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("--screenshot", type=Path)
    parser.add_argument("--chromium")
    parser.add_argument("--width", type=int, default=1100)
    args = parser.parse_args(argv)
    check = open_report(args.html, chromium=args.chromium, screenshot=args.screenshot, width=args.width)
    print(f"title: {check.title}")
    for plot_id, (w, h) in check.plot_sizes.items():
        print(f"{plot_id}: {w:.0f} x {h:.0f} px")
    for line in check.console_errors + tuple(f"blocked request: {u}" for u in check.foreign_requests):
        print(line)
    return 1 if check.console_errors or check.foreign_requests else 0


if __name__ == "__main__":
    raise SystemExit(main())
