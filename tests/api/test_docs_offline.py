"""`serve`'s interactive docs (/docs Swagger UI, /redoc) render in headless Chromium with every
request off the server blocked: their scripts and styles come from the server itself."""

from __future__ import annotations

import threading
from urllib.parse import urlparse

import pytest

from spark_optimizer import __version__
from spark_optimizer.api.app import create_app
from spark_optimizer.config import load_settings
from spark_optimizer.report_html.browser import find_chromium
from tests.api.conftest import free_port

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH: `apt-get install -y chromium` (.ci/run installs it)")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    import uvicorn

    settings = load_settings(warehouse=str(tmp_path_factory.mktemp("empty-warehouse")), environ={})
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ready = threading.Event()
    while not ready.wait(0.05):
        if server.started:
            ready.set()
        elif not thread.is_alive():
            pytest.fail("the API server did not start")
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=30)


def _render(url: str, rendered_selector: str) -> tuple[list[tuple[str, str]], list[str], int]:
    """((resource type, URL) of each request that left the server, console errors, count of
    `rendered_selector`) with the network off."""
    from playwright.sync_api import sync_playwright

    origin = urlparse(url).netloc
    foreign: list[tuple[str, str]] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            def route(request_route) -> None:
                if urlparse(request_route.request.url).netloc == origin:
                    request_route.continue_()
                else:
                    foreign.append((request_route.request.resource_type, request_route.request.url))
                    request_route.abort()

            page.route("**/*", route)
            page.goto(url, wait_until="load")
            page.wait_for_selector(rendered_selector, timeout=30_000)
            count = page.locator(rendered_selector).count()
        finally:
            browser.close()
    return foreign, errors, count


def test_swagger_ui_lists_every_operation_without_the_network(server_url):
    foreign, errors, operations = _render(server_url + "/docs", ".opblock")
    assert foreign == [] and errors == []
    assert operations >= 5


def test_redoc_renders_the_api_without_the_network(server_url):
    foreign, errors, operations = _render(server_url + "/redoc", "[data-section-id^='operation/']")
    # ReDoc's bundle links its maker's logo in the page footer from their site: an image, blocked here.
    logos = [url for kind, url in foreign if kind == "image" and url.startswith("https://cdn.redoc.ly/")]
    assert [url for _, url in foreign if url not in logos] == []
    assert [e for e in errors if "net::ERR_FAILED" not in e] == [] and len(errors) <= len(logos)
    assert operations >= 5


def test_health_names_the_version(server_url):
    import httpx

    body = httpx.get(server_url + "/health", timeout=30).json()
    assert body["version"] == __version__
