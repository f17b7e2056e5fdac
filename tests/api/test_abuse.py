"""Abusive requests against a real `spark-optimizer serve`: huge bodies are refused with 413
before they are read whole, thousands of unknown keys get a short 422, the key guards every
endpoint (documentation included) before any body is looked at, errors never show server paths,
time filters mean what they say, and the server's memory stays under a stated bound."""

from __future__ import annotations

import json
import socket
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from spark_optimizer.api.limits import MAX_BODY_BYTES, without_paths
from tests.api.conftest import API_KEY, NOT_ANALYZED, _start, _stop

# The server's resident memory may grow by at most this much over all the abuse below
# (before the limits a single 10 MB body of unknown keys grew it by about 1 GB).
RSS_GROWTH_BOUND_MB = 60


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def unknown_keys_body(count: int) -> bytes:
    return json.dumps({"job_type": "etl", "input_size": "1GB", **{f"k{n}": n for n in range(count)}}).encode()


def chunked_post(url: str, path: str, total_bytes: int, chunk: int = 1 << 20) -> int:
    """POST a body of `total_bytes` with Transfer-Encoding: chunked (no Content-Length); the status."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
                     f"Transfer-Encoding: chunked\r\n\r\n".encode())
        sent = 0
        try:
            while sent < total_bytes:
                sock.sendall(f"{chunk:x}\r\n".encode() + b" " * chunk + b"\r\n")
                sent += chunk
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the body ended
        answer = sock.recv(65536).decode("latin-1")
    return int(answer.split(" ", 2)[1])


@pytest.fixture(scope="module")
def writes_key_server(api_warehouse, tmp_path_factory):
    proc, srv = _start(api_warehouse.path, tmp_path_factory.mktemp("abuse") / "serve.log",
                       {"SPARK_OPTIMIZER_API_KEY": API_KEY, "SPARK_OPTIMIZER_API_KEY_ALL": "false"})
    yield proc, srv
    _stop(proc)


def test_huge_and_key_stuffed_bodies_are_refused_cheaply_and_memory_stays_bounded(writes_key_server):
    proc, srv = writes_key_server
    with httpx.Client(base_url=srv.url, timeout=60) as client:
        client.get("/jobs")  # the first request imports what every later one uses
        before = rss_mb(proc.pid)
        ten_mb = unknown_keys_body(700_000)
        assert len(ten_mb) > 10_000_000
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda _: client.post("/recommend", content=ten_mb,
                                                          headers={"Content-Type": "application/json"}), range(3)))
        assert [a.status_code for a in answers] == [413, 413, 413]
        assert answers[0].json() == {"detail": f"request body larger than {MAX_BODY_BYTES} bytes; the API takes small "
                                               f"JSON objects", "error": "RequestTooLarge"}
        assert chunked_post(srv.url, "/recommend", 100 << 20) == 413
        stuffed = client.post("/recommend", content=unknown_keys_body(3_000), headers={"Content-Type": "application/json"})
        assert stuffed.status_code == 422 and len(stuffed.content) < 4_000
        assert "Extra inputs are not permitted" in stuffed.json()["detail"] and "more problems" in stuffed.json()["detail"]
        assert len(stuffed.json()["errors"]) == 10
        after = rss_mb(proc.pid)
    assert after - before < RSS_GROWTH_BOUND_MB, (before, after)


def test_a_write_without_the_key_is_refused_before_its_body_is_read(writes_key_server):
    _, srv = writes_key_server
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        invalid_json = client.post("/feedback", content=b"{not json", headers={"Content-Type": "application/json"})
        assert invalid_json.status_code == 401
        huge = client.post("/feedback", content=b"x" * (2 * MAX_BODY_BYTES), headers={"X-API-Key": "wrong"})
        assert huge.status_code == 403
        assert client.post("/feedback", content=b"{not json", headers={"X-API-Key": API_KEY,
                                                                      "Content-Type": "application/json"}).status_code == 422


def test_with_the_key_needed_everywhere_the_documentation_pages_need_it_too(locked_server):
    with httpx.Client(base_url=locked_server.url, timeout=30) as client:
        for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect", "/no-such-page"):
            assert client.get(path).status_code == 401, path
        assert client.get("/openapi.json", headers={"X-API-Key": API_KEY}).status_code == 200
        assert client.get("/docs", headers={"X-API-Key": API_KEY}).status_code == 200


def test_error_answers_name_no_server_path(writes_key_server, api_warehouse):
    _, srv = writes_key_server
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        answers = [client.get("/jobs/application_0000000000000_0000"), client.get(f"/analyze/{NOT_ANALYZED}")]
    assert [a.status_code for a in answers] == [404, 409]
    for answer in answers:
        assert api_warehouse.path not in answer.text and "/tmp/" not in answer.text, answer.text
    assert "--warehouse <warehouse>" in answers[1].json()["detail"]


def test_paths_are_taken_out_of_messages_but_urls_and_ids_stay():
    text = "table tasks does not exist at /srv/wh/tasks; see /etc/spark/conf.d/x.conf or http://host:18080/api/v1 app-1/2"
    assert without_paths(text, "/srv/wh") == (
        "table tasks does not exist at <warehouse>/tasks; see <path> or http://host:18080/api/v1 app-1/2")


def test_time_filters_mean_what_they_say(writes_key_server):
    _, srv = writes_key_server
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        everything = client.get("/jobs").json()["total"]
        assert everything > 0
        assert client.get("/jobs", params={"until": "1970-01-01"}).json()["total"] == 0
        assert client.get("/jobs", params={"since": "1970-01-01"}).json()["total"] == everything
