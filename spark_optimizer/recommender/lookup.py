"""The JVM-free lookup behind `spark-optimizer recommend`: read the latest build of the
`recommendations` table with delta-rs, rebuild the row's curve, and search it again at the asked
input size, objective, constraints and cloud. Imports neither pyspark, pandas nor pyarrow (a cold start
of `spark-optimizer recommend` must stay well under 0.5 s; `benchmarks/cli_latency.py` measures it).

Example::

    answer = lookup(load_settings(warehouse="/tmp/wh"), job_type="etl", input_bytes=10 * GB, deadline_s=1800)
    answer.row["spark_submit"], answer.row["predicted_cost"]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from spark_optimizer.config import Settings
from spark_optimizer.cost import Candidate, PricingCatalogue, load_pricing_catalogue, pareto_frontier
from spark_optimizer.errors import SparkOptimizerError, TableNotFoundError
from spark_optimizer.recommender.answer import PLAN_CLOUDS, lookup_id, recommend
from spark_optimizer.recommender.curves import spec_from_row
from spark_optimizer.recommender.search import SPOT_SHARE, CandidateConfig, SearchResult, objective_for
from spark_optimizer.recommender.sparkconf import RECOMMENDATION_TAG, Resources, rules_of, without_nulls
from spark_optimizer.tables.migrate import delta_logical_type, due_upgrades
from spark_optimizer.tables.recommendations import RECOMMENDATIONS

CLOUD_ALIASES = {"databricks": "databricks-aws"}
CLOUD_CHOICES = ("aws", "gcp", "azure", "databricks", "all")


class UnknownRecommendationError(SparkOptimizerError):
    """Thrown when the asked job type, signature, app name or recommendation id is not in the table."""


@dataclass(frozen=True)
class LookupAnswer:
    row: dict
    """The answer as a `recommendations` row (fresh configuration, prediction, id)."""
    base: dict
    """The stored row the answer was computed from."""
    result: SearchResult
    by_cloud: dict = field(default_factory=dict)
    """cloud -> (row, SearchResult) when several clouds were asked."""

    @property
    def frontier(self) -> list[Candidate]:
        return pareto_frontier(self.result.candidates)


def read_rows(settings: Settings) -> list[dict]:
    """Every row of `recommendations` (all builds), read by delta-rs' own engine into Python values.

    `DeltaTable.scan()` hands back arro3 record batches, so the lookup never imports pyarrow
    (with numpy and pyarrow.compute, most of a cold start) and still honours deletion vectors
    and column mapping, which a read of `file_uris()` would not.
    """
    from deltalake import DeltaTable

    path = settings.table_path("recommendations")
    if not DeltaTable.is_deltatable(path):
        raise TableNotFoundError(f"no recommendations table at {path}; run `spark-optimizer build-recommendations` "
                                 "(or `spark-optimizer quickstart`) first")
    table = DeltaTable(path)
    if due_upgrades(RECOMMENDATIONS, {f.name: delta_logical_type(f.type) for f in table.schema().fields}):
        from spark_optimizer.tables.store import delta_rs_store

        delta_rs_store(settings).upgrade(RECOMMENDATIONS)  # written by an earlier release
        table = DeltaTable(path)
    types = {f.name: f.type for f in table.schema().fields}
    rows = []
    for batch in table.scan():
        names = [field.name for field in batch.schema]
        columns = [[_with_dicts(v, types[n]) for v in batch.column(i).to_pylist()] if _nested(types[n])
                   else batch.column(i).to_pylist() for i, n in enumerate(names)]
        # arro3 gives zone-aware timestamps a zoneinfo.ZoneInfo; callers get datetime.timezone.utc, as before.
        for i, column in enumerate(batch.schema):
            if column.type.tz:
                columns[i] = [v and v.astimezone(timezone.utc) for v in columns[i]]
        rows.extend(dict(zip(names, values)) for values in zip(*columns))
    return rows


def _nested(delta_type) -> bool:
    return type(delta_type).__name__ in ("MapType", "StructType", "ArrayType")


def _with_dicts(value, delta_type):
    """arro3 gives a map, at any depth, as (key, value) pairs; callers get a dict, as Spark's rows give."""
    if value is None:
        return None
    kind = type(delta_type).__name__
    if kind == "MapType":
        return {k: _with_dicts(v, delta_type.value_type) for k, v in value}
    if kind == "StructType":
        return {f.name: _with_dicts(value[f.name], f.type) for f in delta_type.fields}
    if kind == "ArrayType":
        return [_with_dicts(v, delta_type.element_type) for v in value]
    return value


def latest_build(rows: list[dict]) -> list[dict]:
    if not rows:
        return []
    newest = max(r["built_at"] for r in rows)
    return [r for r in rows if r["built_at"] == newest]


def _listing(values, limit: int = 20) -> str:
    values = sorted(v for v in set(values) if v)
    more = f" … and {len(values) - limit} more" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more if values else "(none)"


def resolve(build: list[dict], *, job_type: str | None = None, signature: str | None = None,
            app_name: str | None = None) -> dict:
    """The stored row for a signature (exact or unique prefix), an app name, or a job type (any band)."""
    signatures = [r for r in build if r["level"] == "signature"]
    if signature:
        found = [r for r in signatures if r["job_signature"] == signature] or \
                [r for r in signatures if r["job_signature"].startswith(signature)]
        skipped = [r for r in build if r["level"] == "skipped" and (r["job_signature"] or "").startswith(signature)]
        if not found and len(skipped) == 1:
            raise UnknownRecommendationError(f"job signature {skipped[0]['job_signature']} got no recommendation in the "
                                             f"latest build: {skipped[0]['rationale']}")
        if len(found) != 1:
            what = "matches several" if found else "is unknown"
            raise UnknownRecommendationError(f"job signature {signature!r} {what}; known signatures: "
                                             f"{_listing(r['job_signature'] for r in (found or signatures))}")
        return found[0]
    if app_name:
        wanted = app_name.lower()
        found = [r for r in signatures if (r["app_name"] or "").lower() == wanted] or \
                [r for r in signatures if wanted in (r["app_name"] or "").lower() or r["job_signature"].startswith(wanted)]
        if not found:
            raise UnknownRecommendationError(f"no job named {app_name!r}; known app names: {_listing(r['app_name'] for r in signatures)}")
        if len({r["job_signature"] for r in found}) > 1:
            raise UnknownRecommendationError(f"app name {app_name!r} matches several jobs; pick one with --signature: "
                                             f"{_listing(r['job_signature'] + ' (' + (r['app_name'] or '') + ')' for r in found)}")
        return found[0]
    if job_type:
        found = [r for r in build if r["level"] == "job_type" and r["job_type"] == job_type]
        if not found:
            raise UnknownRecommendationError(f"unknown job type {job_type!r}; job types with recommendations: "
                                             f"{_listing(r['job_type'] for r in build if r['level'] == 'job_type')}")
        return found[0]
    raise UnknownRecommendationError("say which job: --job-type TYPE, --signature SIGNATURE or --app-name NAME")


def _answer(base: dict, build: list[dict], input_bytes: float, catalogue: PricingCatalogue, cloud: str, objective: str,
            deadline_s: float | None, budget: float | None, spot_share: float,
            configs: list[CandidateConfig] | None = None) -> tuple[dict, SearchResult]:
    signature_rows = {r["job_signature"]: r for r in build if r["level"] == "signature"}
    spec = spec_from_row(base, signature_rows)
    rules = rules_of(base.get("rule_properties"))
    name = base["app_name"] or base["job_signature"] if base["level"] == "signature" else f"{base['job_type']} jobs"
    row, result = recommend(spec, input_bytes, catalogue, cloud=cloud, objective=objective, deadline_s=deadline_s,
                            budget=budget, spot_share=spot_share, driver_memory_mb=int(base["driver_memory_mb"] or 2048),
                            dynamic_allocation=bool(base["dynamic_allocation"]), rules=rules, row_id=base["recommendation_id"],
                            context=f"{name}: ", configs=configs,
                            spark_version=base.get("spark_version"))
    s = result.best.shape
    resources = Resources(s.executors, s.executor_cores, s.executor_memory_mb, row["shuffle_partitions"], 0)
    new_id = lookup_id(base["recommendation_id"], resources, input_bytes)
    row["spark_submit"] = row["spark_submit"].replace(base["recommendation_id"], new_id)
    row["databricks_cluster"]["spark_conf"][RECOMMENDATION_TAG] = new_id
    row["recommendation_id"] = new_id
    keep = {k: base[k] for k in ("level", "job_signature", "job_type", "app_name", "member_signatures", "curve_scale",
                                  "run_count", "config_count", "model_version", "table_versions", "pricing_as_of", "built_at")}
    return {**keep, **row}, result


def lookup(settings: Settings, *, input_bytes: float | None = None, job_type: str | None = None, signature: str | None = None,
           app_name: str | None = None, deadline_s: float | None = None, budget: float | None = None,
           objective: str | None = None, cloud: str = "aws", spot: bool = False,
           candidates: list[dict] | None = None) -> LookupAnswer:
    """The recommendation for one job or job type at `input_bytes` (default: the signature's typical input).

    With `candidates` (dicts with instance_type and optionally nodes, executors, executor_cores,
    executor_memory_mb) the answer is the best of those configurations, and `row["ranking"]` ranks them all.
    """
    configs = None
    if candidates is not None:
        try:
            configs = [CandidateConfig.from_mapping(dict(item)) for item in candidates]
        except ValueError as error:
            raise UnknownRecommendationError(str(error)) from None
        if not configs:
            raise UnknownRecommendationError("the list of candidate configurations is empty")
    if cloud not in CLOUD_CHOICES:
        raise UnknownRecommendationError(f"--cloud must be one of {', '.join(CLOUD_CHOICES)}, not {cloud!r}")
    build = latest_build(read_rows(settings))
    if not build:
        raise TableNotFoundError("the recommendations table is empty; run `spark-optimizer build-recommendations`")
    base = resolve(build, job_type=job_type, signature=signature, app_name=app_name)
    if input_bytes is None:
        if base["level"] == "job_type":
            raise UnknownRecommendationError("--input-size is needed for a job type (e.g. --input-size 10GB)")
        input_bytes = float(base["input_bytes"] or 0)
    if base["level"] == "job_type":  # the row of the asked size's band (id and rationale)
        from spark_optimizer.recommender.answer import size_band

        band = size_band(input_bytes)
        base = next((r for r in build if r["level"] == "job_type" and r["job_type"] == base["job_type"]
                     and r["size_band"] == band), base)
    chosen_objective = objective_for(deadline_s, budget, objective)
    share = SPOT_SHARE if spot else 0.0
    clouds = list(PLAN_CLOUDS) if cloud == "all" else [CLOUD_ALIASES.get(cloud, cloud)]
    by_cloud, errors, catalogue = {}, {}, None
    for name in clouds:
        try:
            if catalogue is None:  # parsed once for all clouds; a broken catalogue is still each cloud's error
                catalogue = load_pricing_catalogue(settings.pricing_dir or None)
            by_cloud[name] = _answer(base, build, input_bytes, catalogue, name, chosen_objective, deadline_s, budget, share,
                                     configs)
        except SparkOptimizerError as error:
            if len(clouds) == 1:
                raise
            errors[name] = str(error)
    if not by_cloud:
        raise UnknownRecommendationError("no cloud has a feasible configuration: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    # With several clouds the primary answer is the one the objective prefers among the clouds' winners.
    from spark_optimizer.cost import choose

    winners = {name: result.best for name, (_, result) in by_cloud.items()}
    primary = choose(list(winners.values()), chosen_objective, deadline_s=deadline_s, budget=budget)
    primary_cloud = next(name for name, c in winners.items() if c is primary)
    row, result = by_cloud[primary_cloud]
    return LookupAnswer(row, base, result, by_cloud if cloud == "all" else {}) if not errors else \
        LookupAnswer({**row, "cloud_errors": errors}, base, result, by_cloud)


def predict_for_config(base: dict, build: list[dict], config: dict, settings: Settings) -> tuple[float, float | None]:
    """Predicted runtime (ms) and cost on the row's cloud of an explicit configuration (for feedback)."""
    from spark_optimizer.cost import CostModelError, ClusterShape, plan_instances, run_cost

    signature_rows = {r["job_signature"]: r for r in build if r["level"] == "signature"}
    spec = spec_from_row(base, signature_rows)
    runtime_ms = spec.curve.predict_ms(config["executors"], config["executor_cores"], config["executor_memory_mb"],
                                       config["shuffle_partitions"], bool(base.get("aqe_enabled", True)), config["input_bytes"])
    try:
        catalogue = load_pricing_catalogue(settings.pricing_dir or None)
        plan = plan_instances(ClusterShape(config["executors"], config["executor_cores"], config["executor_memory_mb"]),
                              catalogue, base["cloud"])
        cost = run_cost(plan, runtime_ms / 1000.0, spot_share=base["spot_share"] or 0.0).total
    except CostModelError:
        cost = None
    return runtime_ms, cost


def read_candidates(path: str) -> list[dict]:
    """Candidate configurations from a JSON file (a list of objects) or a CSV file with a header row."""
    import csv
    from pathlib import Path

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise UnknownRecommendationError(f"cannot read the candidates file {path}: {error}") from None
    if file.suffix.lower() == ".json" or text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise UnknownRecommendationError(f"{path} is not valid JSON ({error}); expected a list of objects such as "
                                             '[{"instance_type": "r4.2xlarge", "nodes": 4}]') from None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise UnknownRecommendationError(f"{path} must hold a JSON list of objects, e.g. [{{\"instance_type\": \"r4.2xlarge\"}}]")
        return items
    rows = list(csv.DictReader(text.splitlines()))
    if not rows or "instance_type" not in rows[0]:
        raise UnknownRecommendationError(f"{path}: a CSV of candidates needs a header with instance_type "
                                         "(and optionally nodes, executors, executor_cores, executor_memory_mb, cloud)")
    return [{k: v for k, v in r.items() if v not in (None, "")} for r in rows]


def as_json(answer: LookupAnswer) -> str:
    def plain(row: dict) -> dict:
        out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
        if out.get("databricks_cluster"):
            out["databricks_cluster"] = without_nulls(out["databricks_cluster"])
        return out

    doc = plain(answer.row)
    doc["pareto"] = [{"executors": c.shape.executors, "executor_cores": c.shape.executor_cores,
                      "executor_memory_mb": c.shape.executor_memory_mb, "runtime_s": round(c.runtime_s, 1),
                      "cost": round(c.cost.total, 4), "plan": c.plan.describe()} for c in answer.frontier]
    if answer.by_cloud:
        doc["clouds"] = {name: {k: plain(row)[k] for k in ("executors", "executor_cores", "executor_memory_mb", "instance_type",
                                                            "instance_count", "predicted_runtime_ms", "predicted_cost",
                                                            "cost_low", "cost_high", "currency", "recommendation_id")}
                         for name, (row, _) in answer.by_cloud.items()}
    return json.dumps(doc, indent=2, default=str)
