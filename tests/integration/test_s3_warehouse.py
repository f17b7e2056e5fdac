"""A warehouse on S3 (moto's S3 server on 127.0.0.1): the CLI collects, analyzes, trains, builds
recommendations and recommends with `--warehouse s3://…`; the Delta tables and the MLflow artifacts
live in the bucket, MLflow's own store in the user's cache folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.api.conftest import free_port
from tests.conftest import cache_with_this_sessions_class_archives

REPO = Path(__file__).resolve().parents[2]
BUCKET = "spark-optimizer-test"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def s3_env(tmp_path_factory):
    pytest.importorskip("moto.server", reason="moto[server] is a dev dependency")
    import boto3

    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                  stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"moto's S3 server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true",
           "XDG_CACHE_HOME": cache_with_this_sessions_class_archives(tmp_path_factory.mktemp("cache")),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    env.pop("SPARK_OPTIMIZER_MLFLOW_TRACKING_URI", None)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket=BUCKET)
    yield env, s3
    server.terminate()
    server.wait(timeout=30)


def _cli(env, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "spark_optimizer.cli", *args], env=env, capture_output=True, text=True,
                          timeout=900, cwd=env["XDG_CACHE_HOME"])
    assert done.returncode == 0, f"{args[0]}: {done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def test_collect_analyze_train_and_recommend_on_an_s3_warehouse(s3_env):
    env, s3 = s3_env
    warehouse = f"s3://{BUCKET}/warehouse"
    # The main job (collect, analyze, train, build-recommendations: the same runners as the four commands) in one
    # JVM, then the JVM-free lookup.
    ran = _cli(env, "quickstart", "--event-log-dir", str(REPO / "samples" / "runs"), "--warehouse", warehouse).stdout
    assert "ingested 9, partial 0, failed 0" in ran and "analyzed 9 application attempt(s)" in ran  # results on stdout
    assert "runtime model version 1" in ran and "built " in ran and "skipped nothing" in ran
    # MLflow's store cannot live in an object store: its SQLite file is in the local cache folder.
    assert list(Path(env["XDG_CACHE_HOME"]).rglob("mlflow.db"))
    answer = json.loads(_cli(env, "recommend", "--job-type", "etl", "--input-size", "10GB", "--format", "json",
                             "--warehouse", warehouse).stdout)
    assert answer["run_count"] > 0 and answer["model_version"] == "1"

    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET) for o in page.get("Contents", [])]
    for table in ("applications", "tasks", "findings", "runs", "scaling_models", "recommendations"):
        assert any(k.startswith(f"warehouse/{table}/_delta_log/") for k in keys), table
    assert any(k.startswith("warehouse/mlflow-artifacts/") and k.endswith("MLmodel") for k in keys)
