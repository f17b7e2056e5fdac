"""The REST API over HTTP: a real `spark-optimizer serve` process on a free 127.0.0.1 port over a
trained warehouse; every endpoint, validation errors, the API key, and unknown applications."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.conftest import API_KEY, NOT_ANALYZED

TAXI = "spark-cc4d115f011443d787f03a71a476a745"


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def test_binds_to_loopback_by_default_and_publishes_openapi(server, client):
    assert f"Uvicorn running on {server.url}" in server.log.read_text()
    doc = client.get("/openapi.json").json()
    assert set(doc["paths"]) == {"/recommend", "/jobs", "/jobs/{app_id}", "/jobs/{app_id}/{attempt_id}", "/analyze/{app_id}",
                                 "/analyze/{app_id}/{attempt_id}", "/feedback", "/health"}
    assert doc["components"]["securitySchemes"]["APIKeyHeader"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": doc["components"]["securitySchemes"]["APIKeyHeader"]["description"]}
    assert doc["components"]["schemas"]["RecommendRequest"]["additionalProperties"] is False


def test_health_reports_table_versions(client):
    out = client.get("/health")
    assert out.status_code == 200, out.text
    doc = out.json()
    assert doc["status"] == "ok" and doc["warehouse_reachable"] and doc["detail"] is None
    assert doc["tables"]["recommendations"]["exists"] and doc["tables"]["recommendations"]["version"] >= 0
    assert doc["tables"]["applications"]["version"] >= 1  # two ingests
    assert doc["tables"]["clusters"] == {"exists": False, "version": None}


def test_jobs_filters_and_pages(client):
    everything = client.get("/jobs").json()
    assert everything["total"] == 6 and len(everything["items"]) == 6
    starts = [j["start_time"] for j in everything["items"]]
    assert starts == sorted(starts, reverse=True)
    first, second = (client.get("/jobs", params={"limit": 4, "offset": o}).json() for o in (0, 4))
    assert [j["app_id"] for j in first["items"] + second["items"]] == [j["app_id"] for j in everything["items"]]
    assert first["total"] == second["total"] == 6 and len(second["items"]) == 2
    taxi = client.get("/jobs", params={"name": "newyorktaxi"}).json()
    assert [j["app_id"] for j in taxi["items"]] == [TAXI] and taxi["items"][0]["bottleneck"] == "cpu"
    long_runs = client.get("/jobs", params={"min_duration": "5m"}).json()
    assert [j["app_id"] for j in long_runs["items"]] == [TAXI]
    assert client.get("/jobs", params={"since": "2100-01-01"}).json()["total"] == 0
    not_analyzed = next(j for j in everything["items"] if j["app_id"] == NOT_ANALYZED)
    assert not_analyzed["bottleneck"] is None


@pytest.mark.parametrize("params, field", [
    ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"offset": -1}, "offset"), ({"status": "running"}, "status"),
    ({"since": "yesterday"}, "since"), ({"min_duration": "10 minutes"}, "min_duration"),
    ({"warehouse": "/etc"}, "warehouse"),  # no endpoint reads a path from a request
])
def test_jobs_refuses_bad_queries(client, params, field):
    out = client.get("/jobs", params=params)
    assert out.status_code == 422, out.text
    doc = out.json()
    assert doc["error"] == "RequestValidationError" and ["query", field] in [e["loc"] for e in doc["errors"]]
    assert doc["detail"].startswith("invalid request: query." + field)


def test_job_row_and_unknown_apps(client):
    out = client.get(f"/jobs/{TAXI}")
    assert out.status_code == 200
    row = out.json()
    assert row["app_name"].startswith("NewYorkTaxiData") and row["spark_version"] == "3.5.3" and row["analyzed"] is True
    assert row["ingested_at"].endswith("+00:00") and row["executor_cores"] >= 1
    missing = client.get("/jobs/application_0000000000000_0000")
    assert missing.status_code == 404 and missing.json()["error"] == "ApplicationNotFoundError"
    assert "is not in the applications table" in missing.json()["detail"]
    assert row["ref"] == (f"{TAXI}/{row['attempt_id']}" if row["attempt_id"] else TAXI)
    assert client.get(f"/jobs/{TAXI}/9").status_code == 404
    assert client.get("/jobs/a%20b").status_code == 422  # ids are [A-Za-z0-9_.:-]


def test_analyze_returns_the_report_and_409_when_not_analyzed(client):
    out = client.get(f"/analyze/{TAXI}", params=[("executors", 2), ("executors", 8)])
    assert out.status_code == 200, out.text
    report = out.json()
    assert report["application"]["app_id"] == TAXI and report["metrics"]["bottleneck"] == "cpu"
    assert report["findings"] and all(f["severity"] for f in report["findings"])
    assert [p["executors"] for p in report["whatif"]["points"]] == [2, 8]
    assert isinstance(report["spark_submit_conf"], dict)
    pending = client.get(f"/analyze/{NOT_ANALYZED}")
    assert pending.status_code == 409
    assert f"spark-optimizer analyze {NOT_ANALYZED}" in pending.json()["detail"]
    assert client.get("/analyze/nope-1").status_code == 404
    assert client.get(f"/analyze/{TAXI}", params={"executors": 0}).status_code == 422


def test_recommend_gives_the_cli_answer(client, api_warehouse):
    from spark_optimizer.config import load_settings
    from spark_optimizer.recommender.lookup import lookup

    out = client.post("/recommend", json={"job_type": "etl", "input_size": "10GB", "deadline": "30m", "spot": True})
    assert out.status_code == 200, out.text
    doc = out.json()
    expected = lookup(load_settings(warehouse=api_warehouse.path, environ={}), job_type="etl", input_bytes=10 * 1024 ** 3,
                      deadline_s=1800, spot=True).row
    assert doc["recommendation_id"] == expected["recommendation_id"] and doc["spark_submit"] == expected["spark_submit"]
    assert doc["objective"] == "cheapest-within-deadline" and doc["predicted_runtime_ms"] <= 30 * 60_000
    assert doc["spot_share"] == 0.5 and doc["pareto"] and isinstance(doc["spark_conf"], dict)
    taxi = client.post("/recommend", json={"app_name": "NewYorkTaxiData_2025_06_27_0", "cloud": "all"}).json()
    assert taxi["job_signature"].startswith("newyorktaxidata") and set(taxi["clouds"]) == {"aws", "gcp", "azure", "databricks-aws"}


@pytest.mark.parametrize("body, status, message", [
    ({"job_type": "etl"}, 422, "input_size is needed for a job type"),
    ({"job_type": "etl", "signature": "x", "input_size": "1GB"}, 422, "exactly one of job_type, signature or app_name"),
    ({"input_size": "1GB"}, 422, "exactly one of job_type, signature or app_name"),
    ({"job_type": "etl", "input_size": "10 gigs"}, 422, "body.input_size"),
    ({"job_type": "etl", "input_size": "0GB"}, 422, "not a data size"),
    ({"job_type": "etl", "input_size": "1GB", "cloud": "ibm"}, 422, "body.cloud"),
    ({"job_type": "etl", "input_size": "1GB", "budget": -1}, 422, "body.budget"),
    ({"job_type": "etl", "input_size": "1GB", "warehouse": "/tmp"}, 422, "body.warehouse: Extra inputs are not permitted"),
    ({"job_type": "batch", "input_size": "1GB"}, 404, "unknown job type 'batch'; job types with recommendations: etl"),
    ({"signature": "nope#1"}, 404, "job signature 'nope#1' is unknown"),
])
def test_recommend_refuses_bad_requests(client, body, status, message):
    out = client.post("/recommend", json=body)
    assert out.status_code == status, out.text
    assert message in out.json()["detail"]


def test_recommend_refuses_non_json(client):
    out = client.post("/recommend", content=b"job_type=etl", headers={"Content-Type": "text/plain"})
    assert out.status_code == 422 and out.json()["error"] == "RequestValidationError"


def test_feedback_needs_the_key_and_is_recorded(client, server):
    from spark_optimizer.config import load_settings
    from spark_optimizer.tables import FEEDBACK, RUNS
    from spark_optimizer.tables.store import DeltaRsBackend, TableStore

    rec = client.post("/recommend", json={"app_name": "NewYorkTaxiData_2025_06_27_0", "input_size": "8GB"}).json()
    body = {"recommendation_id": rec["recommendation_id"], "runtime": "20m", "cost": 1.25, "note": "from the API test"}
    assert client.post("/feedback", json=body).status_code == 401
    wrong = client.post("/feedback", json=body, headers={"X-API-Key": "nope"})
    assert wrong.status_code == 403 and "does not match" in wrong.json()["detail"]
    out = client.post("/feedback", json=body, headers={"X-API-Key": API_KEY})
    assert out.status_code == 201, out.text
    doc = out.json()
    assert doc["actual_runtime_ms"] == 20 * 60_000 and doc["predicted_runtime_ms"] == rec["predicted_runtime_ms"]
    assert doc["runtime_error"] == pytest.approx(20 * 60_000 / rec["predicted_runtime_ms"] - 1)
    store = TableStore(None, load_settings(warehouse=server.warehouse, environ={}), backend=DeltaRsBackend())
    [row] = [f for f in store.read_arrow(FEEDBACK).to_pylist() if f["feedback_id"] == doc["feedback_id"]]
    assert (row["recommendation_id"], row["actual_cost"], row["note"]) == (rec["recommendation_id"], 1.25, "from the API test")
    assert any(r["run_id"] == doc["run_id"] for r in store.read_arrow(RUNS).to_pylist())
    unknown = client.post("/feedback", json={**body, "recommendation_id": "rec-000000000000"}, headers={"X-API-Key": API_KEY})
    assert unknown.status_code == 404 and "rec-000000000000 is not in" in unknown.json()["detail"]
    for bad in ({"runtime": "soon"}, {"cost": -1}, {"recommendation_id": "../../etc/passwd"}, {"extra": 1}):
        assert client.post("/feedback", json={**body, **bad}, headers={"X-API-Key": API_KEY}).status_code == 422


def test_api_key_all_guards_reads(locked_server):
    with httpx.Client(base_url=locked_server.url, timeout=60) as c:
        assert c.get("/jobs").status_code == 401 and c.get("/health").status_code == 401
        assert c.post("/recommend", json={"job_type": "etl", "input_size": "1GB"}).status_code == 401
        assert c.get("/jobs", headers={"X-API-Key": "nope"}).status_code == 403
        assert c.get("/jobs", headers={"X-API-Key": API_KEY}).json()["total"] == 6


def test_the_cli_and_the_api_list_jobs_in_one_shape(client, api_warehouse):
    from typer.testing import CliRunner

    from spark_optimizer.cli import app

    out = CliRunner().invoke(app, ["jobs", "--warehouse", api_warehouse.path, "--limit", "2", "--offset", "1", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == client.get("/jobs", params={"limit": 2, "offset": 1}).json()
    page = json.loads(out.stdout)
    assert set(page) == {"total", "offset", "limit", "items"} and page["total"] == 6 and len(page["items"]) == 2
