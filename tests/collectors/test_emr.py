"""The EMR collector against moto's server mode, through the real boto3 client.

moto 5 implements clusters, instance groups, steps and IAM but not ListInstanceFleets or
GetManagedScalingPolicy (nor the InstanceCollectionType DescribeCluster returns): `MotoEmr` runs
moto's own WSGI app and adds those two read APIs from what RunJobFlow was given, in the shapes of
botocore's EMR service model (checked by `_assert_documented`). It can also answer an action with a
throttling error or a 500 a given number of times.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from datetime import datetime, timedelta, timezone

import boto3
import pytest
import requests
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from spark_optimizer.collectors.cloud_rows import CloudPermissionError
from spark_optimizer.collectors.cloud_store import load_state
from spark_optimizer.collectors.emr import collect_from_emr, emr_client
from spark_optimizer.config import load_settings
from tests.fakes.history_server import free_port
from spark_optimizer.tables import CLUSTER_NODES, CLUSTER_RUNS, CLUSTERS, INGEST_LOG
from spark_optimizer.tables.store import DeltaRsBackend, TableStore

REGION = "us-west-2"
RUN_TIME = datetime(2026, 11, 1, tzinfo=timezone.utc)
_EMR_MODEL = boto3.session.Session().client("emr", region_name=REGION)._service_model


def _assert_documented(shape, value, path="") -> None:
    """Every key of `value` is a member of the botocore shape (no invented fields)."""
    if shape.type_name == "structure":
        assert isinstance(value, dict), path
        for key, item in value.items():
            assert key in shape.members, f"{path}.{key} is not in botocore's {shape.name}"
            _assert_documented(shape.members[key], item, f"{path}.{key}")
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            _assert_documented(shape.member, item, f"{path}[{i}]")


class MotoEmr(ThreadedMotoServer):
    """moto's server on 127.0.0.1:<free port>, plus ListInstanceFleets and GetManagedScalingPolicy."""

    def __init__(self):
        super().__init__(ip_address="127.0.0.1", port=free_port(), verbose=False)
        self.fleets: dict[str, list[dict]] = {}
        self.scaling: dict[str, dict] = {}
        self.faults: dict[str, list] = {}  # action -> [(status, error code, times left, cluster id or None)]
        self.calls: list[str] = []
        self.params: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def client(self, service: str = "emr", key: str = "testing", secret: str = "testing", retries: int = 2):
        if service == "emr":
            session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=REGION)
            return emr_client(REGION, endpoint_url=self.url, session=session, retries=retries, timeout_s=10)
        return boto3.client(service, region_name=REGION, endpoint_url=self.url, aws_access_key_id=key,
                            aws_secret_access_key=secret)

    def fault(self, action: str, status: int, code: str, times: int, cluster_id: str | None = None) -> None:
        self.faults.setdefault(action, []).append([status, code, times, cluster_id])

    def _server_entry(self) -> None:  # moto's own app, wrapped
        self._server = make_server(self._ip_address, self._port, self._wsgi(DomainDispatcherApplication(create_backend_app)),
                                   True)
        self._server_ready_event.set()
        self._server.serve_forever()

    def _wsgi(self, moto_app):
        def respond(start_response, status: int, payload: dict):
            body = json.dumps(payload).encode()
            start_response(f"{status} X", [("Content-Type", "application/x-amz-json-1.1"),
                                           ("Content-Length", str(len(body)))])
            return [body]

        def app(environ, start_response):
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if not target.startswith("ElasticMapReduce."):
                return moto_app(environ, start_response)
            action = target.split(".", 1)[1]
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            params = json.loads(body or b"{}")
            with self.lock:
                self.calls.append(action)
                self.params.append((action, params))
                for fault in self.faults.get(action, []):
                    if fault[2] > 0 and (fault[3] is None or fault[3] == params.get("ClusterId")):
                        fault[2] -= 1
                        return respond(start_response, fault[0], {"__type": fault[1], "message": f"injected {fault[1]}"})
            if action == "ListInstanceFleets":
                return respond(start_response, 200, {"InstanceFleets": self.fleets.get(params["ClusterId"], [])})
            if action == "GetManagedScalingPolicy":
                policy = self.scaling.get(params["ClusterId"])
                return respond(start_response, 200, {"ManagedScalingPolicy": policy} if policy else {})
            if action not in ("RunJobFlow", "DescribeCluster"):
                return moto_app(environ, start_response)
            captured = {}

            def capture(status, headers, exc_info=None):
                captured["status"], captured["headers"] = status, headers
            answer = json.loads(b"".join(moto_app(environ, capture)) or b"{}")
            if captured["status"].startswith("200"):
                if action == "RunJobFlow":
                    self._remember(answer["JobFlowId"], params)
                else:
                    cluster = answer["Cluster"]
                    cluster["InstanceCollectionType"] = "INSTANCE_FLEET" if cluster["Id"] in self.fleets else "INSTANCE_GROUP"
            body = json.dumps(answer).encode()
            start_response(captured["status"], [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
                           + [("Content-Length", str(len(body)))])
            return [body]
        return app

    def _remember(self, cluster_id: str, params: dict) -> None:
        """ListInstanceFleets / GetManagedScalingPolicy answers from RunJobFlow's InstanceFleets / ManagedScalingPolicy."""
        now = datetime.now(timezone.utc).timestamp()
        fleets = []
        for i, config in enumerate(params.get("Instances", {}).get("InstanceFleets") or []):
            specs = []
            for t in config.get("InstanceTypeConfigs") or []:
                spec = {k: t[k] for k in ("InstanceType", "WeightedCapacity", "BidPrice", "BidPriceAsPercentageOfOnDemandPrice")
                        if k in t}
                devices = [{"VolumeSpecification": d["VolumeSpecification"], "Device": f"/dev/sd{chr(98 + n)}"}
                           for d in (t.get("EbsConfiguration") or {}).get("EbsBlockDeviceConfigs") or []
                           for n in range(d.get("VolumesPerInstance", 1))]
                specs.append({**spec, "EbsBlockDevices": devices})
            fleets.append({
                "Id": f"if-{cluster_id[2:]}{i}", "Name": config.get("Name"), "InstanceFleetType": config["InstanceFleetType"],
                "Status": {"State": "RUNNING", "Timeline": {"CreationDateTime": now, "ReadyDateTime": now}},
                "TargetOnDemandCapacity": config.get("TargetOnDemandCapacity", 0),
                "TargetSpotCapacity": config.get("TargetSpotCapacity", 0),
                "ProvisionedOnDemandCapacity": config.get("TargetOnDemandCapacity", 0),
                "ProvisionedSpotCapacity": config.get("TargetSpotCapacity", 0),
                "InstanceTypeSpecifications": specs,
                **({"LaunchSpecifications": config["LaunchSpecifications"]} if "LaunchSpecifications" in config else {})})
        if fleets:
            _assert_documented(_EMR_MODEL.operation_model("ListInstanceFleets").output_shape, {"InstanceFleets": fleets})
            self.fleets[cluster_id] = fleets
        if params.get("ManagedScalingPolicy"):
            _assert_documented(_EMR_MODEL.shape_for("ManagedScalingPolicy"), params["ManagedScalingPolicy"])
            self.scaling[cluster_id] = params["ManagedScalingPolicy"]


def _spark_step(name: str, script: str) -> dict:
    return {"Name": name, "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", "--deploy-mode", "cluster", script]}}


def seed_group_cluster(emr, name: str = "etl-groups", steps: int = 2) -> str:
    return emr.run_job_flow(
        Name=name, ReleaseLabel="emr-7.1.0", LogUri="s3://acme-logs/emr/",
        Applications=[{"Name": "Spark"}, {"Name": "Hadoop"}],
        Configurations=[{"Classification": "spark-defaults",
                         "Properties": {"spark.eventLog.dir": "s3://acme-logs/spark-events/",
                                        "spark.dynamicAllocation.enabled": "true"}}],
        Instances={"InstanceGroups": [
            {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1, "Market": "ON_DEMAND"},
            {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "r5.2xlarge", "InstanceCount": 2, "Market": "SPOT",
             "BidPrice": "0.50", "EbsConfiguration": {"EbsBlockDeviceConfigs": [
                 {"VolumeSpecification": {"VolumeType": "gp3", "SizeInGB": 100}, "VolumesPerInstance": 2}]}},
            {"Name": "Task", "InstanceRole": "TASK", "InstanceType": "c5.4xlarge", "InstanceCount": 3, "Market": "SPOT",
             "AutoScalingPolicy": {"Constraints": {"MinCapacity": 1, "MaxCapacity": 10}, "Rules": [
                 {"Name": "out", "Action": {"SimpleScalingPolicyConfiguration": {"ScalingAdjustment": 1}},
                  "Trigger": {"CloudWatchAlarmDefinition": {"ComparisonOperator": "LESS_THAN", "MetricName": "YARNMemoryAvailablePercentage",
                                                            "Period": 300, "Threshold": 15}}}]}}],
            "KeepJobFlowAliveWhenNoSteps": True},
        Steps=[_spark_step(f"nightly part {i}", f"s3://acme-code/part_{i}.py") for i in range(steps)],
        Tags=[{"Key": "team", "Value": "data"}], JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
        VisibleToAllUsers=True)["JobFlowId"]


def seed_fleet_cluster(emr) -> str:
    return emr.run_job_flow(
        Name="adhoc-fleet", ReleaseLabel="emr-6.15.0", LogUri="s3://acme-logs/emr/",
        Instances={"InstanceFleets": [
            {"Name": "master", "InstanceFleetType": "MASTER", "TargetOnDemandCapacity": 1,
             "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge"}]},
            {"Name": "core", "InstanceFleetType": "CORE", "TargetOnDemandCapacity": 2, "TargetSpotCapacity": 6,
             "InstanceTypeConfigs": [
                 {"InstanceType": "r5.2xlarge", "WeightedCapacity": 2, "BidPriceAsPercentageOfOnDemandPrice": 80,
                  "EbsConfiguration": {"EbsBlockDeviceConfigs": [
                      {"VolumeSpecification": {"VolumeType": "gp2", "SizeInGB": 64}, "VolumesPerInstance": 1}]}},
                 {"InstanceType": "r5.4xlarge", "WeightedCapacity": 4}]},
            {"Name": "task", "InstanceFleetType": "TASK", "TargetSpotCapacity": 4,
             "InstanceTypeConfigs": [{"InstanceType": "c5.4xlarge", "WeightedCapacity": 4}],
             "LaunchSpecifications": {"SpotSpecification": {"TimeoutDurationMinutes": 10, "TimeoutAction": "SWITCH_TO_ON_DEMAND"}}}],
            "KeepJobFlowAliveWhenNoSteps": True},
        ManagedScalingPolicy={"ComputeLimits": {"UnitType": "InstanceFleetUnits", "MinimumCapacityUnits": 2,
                                                "MaximumCapacityUnits": 20}},
        Steps=[_spark_step("adhoc", "s3://acme-code/adhoc.py")],
        JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole")["JobFlowId"]


@pytest.fixture
def moto():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = MotoEmr()
    server.start()
    # moto's backends live in this process, shared by every server: start empty and without IAM checks
    requests.post(f"{server.url}/moto-api/reset", timeout=10).raise_for_status()
    requests.post(f"{server.url}/moto-api/reset-auth", data=b"inf", timeout=10).raise_for_status()
    yield server
    server.stop()


@pytest.fixture
def arrow_store(tmp_path):
    return TableStore(None, load_settings(warehouse=str(tmp_path / "wh"), environ={}), backend=DeltaRsBackend())


def _rows(store, spec, **where):
    return [r for r in store.read_arrow(spec).to_pylist(maps_as_pydicts="strict") if all(r[k] == v for k, v in where.items())]


def test_collects_clusters_instance_groups_fleets_and_steps(moto, arrow_store):
    emr = moto.client()
    groups_id, fleet_id = seed_group_cluster(emr), seed_fleet_cluster(emr)
    moto.fault("ListSteps", 400, "ThrottlingException", 1)  # botocore's standard retry mode must absorb it

    summary = collect_from_emr(arrow_store, REGION, RUN_TIME, client=emr)

    assert summary.exit_code == 0, summary.records
    assert summary.as_dict()["clusters_collected"] == 2 and summary.listed == 2
    assert moto.calls.count("ListSteps") >= 3  # the throttled call was retried
    clusters = {r["cluster_id"]: r for r in _rows(arrow_store, CLUSTERS)}
    g = clusters[groups_id]
    assert (g["provider"], g["scope"], g["cluster_name"], g["state"]) == ("emr", REGION, "etl-groups", "WAITING")
    assert g["runtime_version"] == "emr-7.1.0" and g["applications"] == ["Spark", "Hadoop"]
    assert g["log_uri"] == "s3://acme-logs/emr/" and g["event_log_dir"] == "s3://acme-logs/spark-events/"
    assert g["spark_conf"]["spark.dynamicAllocation.enabled"] == "true"
    assert g["tags"] == {"team": "data"}
    assert (g["master_node_type"], g["worker_node_type"], g["num_workers"]) == ("m5.xlarge", "r5.2xlarge", 5)
    assert (g["autoscale_min_workers"], g["autoscale_max_workers"], g["autoscale_policy"]) == (1, 12, "instance_group")
    assert g["created_time"] is not None and g["zone"]
    f = clusters[fleet_id]
    assert (f["autoscale_min_workers"], f["autoscale_max_workers"], f["autoscale_policy"]) == \
        (2, 20, "managed_scaling:InstanceFleetUnits")
    assert f["worker_node_type"] == "r5.2xlarge|r5.4xlarge"

    nodes = {(r["cluster_id"], r["role"], r["node_type"]): r for r in _rows(arrow_store, CLUSTER_NODES)}
    core = nodes[(groups_id, "core", "r5.2xlarge")]
    assert (core["group_kind"], core["market"], core["requested_count"], core["bid_price"]) == ("instance_group", "SPOT", 2, 0.5)
    assert (core["disk_type"], core["disk_count"], core["disk_size_gb"]) == ("gp3", 2, 100)
    assert (core["vcpus"], core["memory_mb"]) == (8, 65536)  # from ListSupportedInstanceTypes
    master = nodes[(groups_id, "master", "m5.xlarge")]
    assert (master["market"], master["vcpus"], master["memory_mb"]) == ("ON_DEMAND", 4, 16384)
    task = nodes[(groups_id, "task", "c5.4xlarge")]
    assert (task["autoscale_min"], task["autoscale_max"], task["requested_count"]) == (1, 10, 3)
    fleet_core = nodes[(fleet_id, "core", "r5.2xlarge")]
    assert (fleet_core["group_kind"], fleet_core["market"], fleet_core["weighted_capacity"]) == ("instance_fleet", "MIXED", 2)
    assert (fleet_core["target_on_demand_capacity"], fleet_core["target_spot_capacity"]) == (2, 6)
    assert (fleet_core["bid_price_percent"], fleet_core["disk_type"], fleet_core["disk_size_gb"]) == (80.0, "gp2", 64)
    assert nodes[(fleet_id, "core", "r5.4xlarge")]["weighted_capacity"] == 4
    assert nodes[(fleet_id, "task", "c5.4xlarge")]["market"] == "SPOT_WITH_FALLBACK"
    assert nodes[(fleet_id, "master", "m5.xlarge")]["market"] == "ON_DEMAND"

    steps = {r["run_name"]: r for r in _rows(arrow_store, CLUSTER_RUNS)}
    assert sorted(steps) == ["adhoc", "nightly part 0", "nightly part 1"]
    part0 = steps["nightly part 0"]
    assert (part0["run_type"], part0["cluster_id"], part0["job_kind"]) == ("emr_step", groups_id, "command-runner.jar")
    assert part0["arguments"] == ["spark-submit", "--deploy-mode", "cluster", "s3://acme-code/part_0.py"]
    assert part0["properties"] == {"ActionOnFailure": "CONTINUE"}
    assert part0["state"] == "RUNNING" and part0["start_time"] is not None
    assert steps["nightly part 1"]["state"] == "PENDING"
    log = {r["source_path"]: r for r in _rows(arrow_store, INGEST_LOG)}
    assert log[f"emr://{REGION}/clusters/{groups_id}"]["status"] == "ingested"


def test_steps_and_clusters_are_paged_and_collection_is_incremental(moto, arrow_store):
    emr = moto.client()
    many = seed_group_cluster(emr, "many-steps", steps=55)  # ListSteps pages hold 50
    others = [seed_group_cluster(emr, f"small-{i}", steps=0) for i in range(50)]  # 51 clusters: ListClusters pages
    first = collect_from_emr(arrow_store, REGION, RUN_TIME, client=emr)
    assert first.listed == 51 and first.as_dict()["clusters_collected"] == 51, first.records
    assert len(_rows(arrow_store, CLUSTER_RUNS, cluster_id=many)) == 55
    assert moto.calls.count("ListClusters") == 2

    emr.terminate_job_flows(JobFlowIds=[others[0]])
    emr.add_job_flow_steps(JobFlowId=many, Steps=[_spark_step("late step", "s3://acme-code/late.py")])
    newest = seed_group_cluster(emr, "newest", steps=1)
    moto.calls.clear()
    moto.params.clear()
    second = collect_from_emr(arrow_store, REGION, RUN_TIME + timedelta(hours=1), client=emr)

    assert second.watermark == max(r["created_time"] for r in _rows(arrow_store, CLUSTERS) if r["cluster_id"] != newest)
    # listed: the new cluster (and, by the one-second overlap, clusters created just before the watermark,
    # skipped when unchanged); collected: the new one plus the 51 stored clusters that were still active
    listings = [p for a, p in moto.params if a == "ListClusters"]  # every page asks with the same bound,
    assert {p["CreatedAfter"] for p in listings} == {int(second.watermark.timestamp()) - 1}  # sent in whole seconds
    assert newest in {r["target"].rsplit("/", 1)[1] for r in second.records}
    assert second.as_dict()["clusters_collected"] == 52
    clusters = {r["cluster_id"]: r for r in _rows(arrow_store, CLUSTERS)}
    assert len(clusters) == 52 and clusters[others[0]]["state"] == "TERMINATED"
    assert clusters[others[0]]["ended_time"] is not None
    runs = _rows(arrow_store, CLUSTER_RUNS)
    assert len(runs) == len({r["run_id"] for r in runs}) == 55 + 1 + 1  # upserts never duplicate
    assert len(_rows(arrow_store, CLUSTER_NODES)) == 52 * 3
    # one page per small cluster and for the new one; two for many-steps: its stored steps were not
    # finished (moto leaves them RUNNING/PENDING), so paging does not stop at the first page
    assert moto.calls.count("ListSteps") == 50 + 1 + 2

    third = collect_from_emr(arrow_store, REGION, RUN_TIME + timedelta(hours=2), client=emr)
    assert third.listed == third.unchanged and third.as_dict()["clusters_collected"] == 51  # the terminated one is done


def test_a_failing_cluster_is_recorded_retried_next_time_and_the_others_still_collected(moto, arrow_store):
    emr = moto.client(retries=1)
    good, bad = seed_group_cluster(emr, "good"), seed_group_cluster(emr, "bad")
    moto.fault("DescribeCluster", 500, "InternalFailure", 2, cluster_id=bad)  # both attempts fail

    first = collect_from_emr(arrow_store, REGION, RUN_TIME, client=emr)

    assert first.exit_code == 1
    failed = {r["target"]: r for r in first.records if r["status"] == "failed"}
    assert list(failed) == [f"emr://{REGION}/clusters/{bad}"]
    assert "DescribeCluster failed" in failed[f"emr://{REGION}/clusters/{bad}"]["reason"]
    assert [r["cluster_id"] for r in _rows(arrow_store, CLUSTERS)] == [good]
    assert _rows(arrow_store, INGEST_LOG, source_path=f"emr://{REGION}/clusters/{bad}")[0]["status"] == "failed"

    # The failed cluster is collected again next time whether or not the listing returns it.
    assert load_state(arrow_store, "emr", REGION).retry_clusters == {bad}
    emr.terminate_job_flows(JobFlowIds=[good, bad])
    second = collect_from_emr(arrow_store, REGION, RUN_TIME + timedelta(hours=1), client=emr)
    assert second.exit_code == 0
    assert not load_state(arrow_store, "emr", REGION).retry_clusters
    assert {r["cluster_id"]: r["state"] for r in _rows(arrow_store, CLUSTERS)} == {good: "TERMINATED", bad: "TERMINATED"}
    assert _rows(arrow_store, INGEST_LOG, source_path=f"emr://{REGION}/clusters/{bad}")[0]["status"] == "ingested"


def _restricted_client(moto, allowed: list[str]):
    iam = moto.client("iam")
    iam.create_user(UserName="collector")
    iam.put_user_policy(UserName="collector", PolicyName="emr-read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": allowed, "Resource": "*"}]}))
    key = iam.create_access_key(UserName="collector")["AccessKey"]
    requests.post(f"{moto.url}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()  # IAM enforced from now
    return moto.client(key=key["AccessKeyId"], secret=key["SecretAccessKey"])


def test_a_denied_listing_names_the_missing_iam_permission(moto, arrow_store):
    seed_group_cluster(moto.client())
    client = _restricted_client(moto, ["elasticmapreduce:DescribeCluster"])
    with pytest.raises(CloudPermissionError) as error:
        collect_from_emr(arrow_store, REGION, RUN_TIME, client=client)
    assert error.value.permission == "elasticmapreduce:ListClusters"
    assert "needs the permission elasticmapreduce:ListClusters" in str(error.value)


def test_a_denied_sub_resource_makes_the_cluster_partial_with_the_permission_named(moto, arrow_store):
    cluster_id = seed_group_cluster(moto.client())
    client = _restricted_client(moto, ["elasticmapreduce:ListClusters", "elasticmapreduce:DescribeCluster",
                                       "elasticmapreduce:ListInstanceGroups", "elasticmapreduce:ListInstanceFleets",
                                       "elasticmapreduce:GetManagedScalingPolicy",
                                       "elasticmapreduce:ListSupportedInstanceTypes"])  # no ListSteps
    summary = collect_from_emr(arrow_store, REGION, RUN_TIME, client=client)
    assert summary.exit_code == 1
    [record] = summary.records
    assert record["status"] == "partial" and "elasticmapreduce:ListSteps" in record["reason"]
    assert [r["cluster_id"] for r in _rows(arrow_store, CLUSTERS)] == [cluster_id]
    assert len(_rows(arrow_store, CLUSTER_NODES)) == 3 and not arrow_store.exists(CLUSTER_RUNS)
