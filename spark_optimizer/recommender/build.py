"""The build job: per job signature and per (job type, input-size band), the recommended
configuration over the trained curves (`scaling_models`), the runs, the rules' findings and the
cost model, appended to `recommendations` as one build (lookups read the latest `built_at`).

Per-signature facts (observed sizes and configurations, dynamic allocation, driver memory,
driver-only time, the latest run's rule properties) are aggregated in Spark; the search itself
runs on the driver, one signature at a time (a few hundred candidates each).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spark_optimizer.config import Settings
from spark_optimizer.cost import BALANCED, PricingCatalogue, load_pricing_catalogue
from spark_optimizer.errors import SparkOptimizerError
from spark_optimizer.recommender.answer import SIZE_BANDS, base_id, has_aqe, nan_to_none, newest_version, recommend
from spark_optimizer.recommender.confidence import calibration_from_model
from spark_optimizer.recommender.curves import (
    POOLED_ERROR_PENALTY, UNKNOWN_ERROR, amdahl_prior, spec_from_row, stored_points, validation_error,
)
from spark_optimizer.recommender.sparkconf import rule_properties
from spark_optimizer.tables import APP_METRICS, APPLICATIONS, FEATURES, FINDINGS, RECOMMENDATIONS, RUNS, SCALING_MODELS
from spark_optimizer.tables.store import TableStore

MAX_OBSERVED_POINTS = 200
CURVE_COLUMNS = ("coefficients", "memory_threshold", "extrapolation", "profile", "peak_memory_per_core_bytes", "memory_bytes_per_input_byte",
                 "spill_free_data_per_memory")


class NothingToRecommendError(SparkOptimizerError):
    """Thrown when the warehouse has no trained curves to recommend from."""


@dataclass(frozen=True)
class BuildSummary:
    built_at: datetime
    signature_rows: int
    job_type_rows: int
    feedback_linked: int
    skipped: tuple[tuple[str, str], ...] = ()
    """(what, why) of every signature or job-type band the build could not recommend for; stored as
    `recommendations` rows with level = 'skipped' and the reason in `rationale`."""

    def skipped_line(self) -> str:
        """One line: how many were skipped, by reason."""
        if not self.skipped:
            return "skipped nothing"
        reasons: dict[str, int] = {}
        for _, why in self.skipped:
            reasons[why.split(":")[0]] = reasons.get(why.split(":")[0], 0) + 1
        listed = "; ".join(f"{n} x {why}" for why, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
        return (f"skipped {len(self.skipped)} ({listed}); see recommendations rows with level = 'skipped' "
                "(reason in rationale)")


def _skipped_row(row_id: str, what: dict, error: Exception) -> dict:
    """A `recommendations` row that records why a signature or job-type band got no recommendation."""
    first = (str(error).strip().splitlines() or [""])[0][:500]
    return {"recommendation_id": row_id, "level": "skipped", "job_signature": what.get("job_signature"),
            "job_type": what.get("job_type"), "app_name": what.get("app_name"), "size_band": what.get("size_band"),
            "run_count": what.get("run_count"), "config_count": what.get("config_count"),
            "model_version": what.get("model_version"), "rationale": f"{type(error).__name__}: {first}"}


def pricing(settings: Settings) -> PricingCatalogue:
    return load_pricing_catalogue(settings.pricing_dir or None)


def _signature_facts(spark: SparkSession, store: TableStore) -> dict[str, dict]:
    """job_signature -> observed points, medians, dynamic allocation, driver memory, driver-only time, rules."""
    c = F.col
    runs = store.read(RUNS).where(c("succeeded") & (c("runtime_ms") > 0))
    # The run_id of an event-log run, as spark_optimizer/ml/runs.py builds it.
    run_id = F.when(c("attempt_id") == "", c("app_id")).otherwise(F.concat_ws("/", "app_id", "attempt_id"))
    extra = store.read(FEATURES).select(run_id.alias("run_id"), "app_id", "attempt_id", "dynamic_allocation", "driver_memory_mb")
    if store.exists(APP_METRICS):
        extra = extra.join(store.read(APP_METRICS).select("app_id", "attempt_id", "driver_only_ms"),
                           ["app_id", "attempt_id"], "left")
    else:
        extra = extra.withColumn("driver_only_ms", F.lit(None).cast("long"))
    if store.exists(APPLICATIONS):
        extra = extra.join(store.read(APPLICATIONS).select("app_id", "attempt_id", "spark_version"), ["app_id", "attempt_id"], "left")
    else:
        extra = extra.withColumn("spark_version", F.lit(None).cast("string"))
    joined = runs.join(extra, ["run_id"], "left")
    total_cores = c("executors") * c("executor_cores")
    facts = joined.groupBy("job_signature").agg(
        F.slice(F.collect_list(F.array(c("input_bytes").cast("double"), total_cores.cast("double"),
                                       c("runtime_ms").cast("double"))), 1, MAX_OBSERVED_POINTS).alias("points"),
        F.percentile_approx("input_bytes", 0.5).alias("median_input_bytes"),
        F.percentile_approx("runtime_ms", 0.5).alias("median_runtime_ms"),
        F.percentile_approx(total_cores, 0.5).alias("median_total_cores"),
        F.percentile_approx("driver_only_ms", 0.5).alias("median_driver_only_ms"),
        F.max_by("app_name", "start_time").alias("app_name"),
        F.max_by("app_id", "start_time").alias("latest_app_id"),
        F.max_by("attempt_id", "start_time").alias("latest_attempt_id"),
        F.max_by("spark_version", "start_time").alias("spark_version"),
        F.max(F.coalesce(c("dynamic_allocation"), F.lit(False))).alias("dynamic_allocation"),
        F.max("driver_memory_mb").alias("driver_memory_mb"),
        F.max(F.coalesce(c("spill_bytes"), F.lit(0)) > 0).alias("spilled"),
        F.first("job_type", ignorenulls=True).alias("job_type"),
    )
    out = {r["job_signature"]: r.asDict() for r in facts.collect()}  # one row per signature
    if store.exists(FINDINGS) and out:
        latest = spark.createDataFrame([(f["latest_app_id"], f["latest_attempt_id"], sig) for sig, f in out.items()],
                                       "app_id string, attempt_id string, job_signature string")
        rows = store.read(FINDINGS).join(latest, ["app_id", "attempt_id"]).select(
            "job_signature", "rule_id", "severity_rank", "recommended_conf").collect()
        for r in rows:
            out[r["job_signature"]].setdefault("findings", []).append(r.asDict())
    return out


def _signature_row(model: dict, facts: dict) -> dict:
    """The curve part of a signature row: its own curve, or (decided later) the type's, or a prior."""
    error, source = validation_error(model)
    own = (model.get("config_count") or 0) >= 2
    row = {"level": "signature", "job_signature": model["job_signature"], "job_type": model.get("job_type") or facts.get("job_type") or "other",
           "app_name": facts.get("app_name"), "run_count": model.get("run_count"), "config_count": model.get("config_count"),
           "model_version": model.get("model_version"), **{k: nan_to_none(model.get(k)) for k in CURVE_COLUMNS},
           "member_signatures": [model["job_signature"]], "curve_scale": 1.0,
           "observed_points": stored_points(facts.get("points") or []), "curve_source": "own",
           "runtime_error": error if error is not None else UNKNOWN_ERROR, "error_source": source,
           "interval_calibration": calibration_from_model(model), "spark_version": facts.get("spark_version")}
    if not facts.get("spilled"):
        # The fit's spill-free pressure is then only the highest pressure its runs reached, not where spill
        # begins: bounding memory by it would ask for hundreds of GB at sizes far above the runs'.
        row["spill_free_data_per_memory"] = None
    if not own:
        # One configuration: the stored curve is a constant; replace it by the single-run prior.
        cores = int(facts.get("median_total_cores") or 1)
        prior = amdahl_prior(float(facts.get("median_driver_only_ms") or 0), float(facts.get("median_runtime_ms") or 0),
                             float(facts.get("median_input_bytes") or 0), cores)
        row.update(coefficients=prior, extrapolation=None, curve_source="single_run", runtime_error=max(error or 0, UNKNOWN_ERROR),
                   error_source=source + "; single-run prior, error assumed ±100%")
    return row


def _pool(job_type: str, rows: list[dict]) -> list[dict]:
    """Members of a job type's pooled curve: its signatures with their own curves, else all of its signatures."""
    own = [r for r in rows if r["curve_source"] == "own" and r["job_type"] == job_type]
    return own or [r for r in rows if r["job_type"] == job_type]


def build_recommendations(spark: SparkSession, store: TableStore, settings: Settings, built_at: datetime, *,
                          objective: str = BALANCED, cloud: str = "aws", spot_share: float = 0.0) -> BuildSummary:
    """Append one build of the `recommendations` table and link ingested runs that carried a recommendation id.

    Example::

        ctx = AppContext(load_settings(warehouse="/tmp/wh"))
        build_recommendations(ctx.spark, ctx.store, ctx.settings, datetime.now(timezone.utc))
    """
    from spark_optimizer.recommender.feedback import link_ingested_feedback

    if not store.exists(SCALING_MODELS):
        raise NothingToRecommendError(f"no scaling_models table in {settings.warehouse}: run `spark-optimizer train` first")
    models = store.read_arrow(SCALING_MODELS).to_pylist(maps_as_pydicts="strict")
    if not models:
        raise NothingToRecommendError(f"scaling_models in {settings.warehouse} is empty: run `spark-optimizer train` first")
    catalogue = pricing(settings)
    facts = _signature_facts(spark, store)
    versions = {"scaling_models": store.version(SCALING_MODELS), "runs": store.version(RUNS),
                "features": store.version(FEATURES), "findings": store.version(FINDINGS)}
    as_of = ", ".join(f"{name} {catalogue.provider(name).as_of}" for name in catalogue.clouds)
    rows = [_signature_row(m, facts.get(m["job_signature"], {})) for m in models]
    by_signature = {r["job_signature"]: r for r in rows}
    # Signatures without a curve of their own borrow their type's pooled curve, anchored to their runs.
    for row in rows:
        pool = [p for p in _pool(row["job_type"], rows) if p["curve_source"] == "own"]
        if row["curve_source"] != "own" and pool:
            f = facts.get(row["job_signature"], {})
            pooled = dict(row, curve_source="job_type", member_signatures=[p["job_signature"] for p in pool], curve_scale=1.0,
                          config_count=sum(p["config_count"] or 0 for p in pool),
                          runtime_error=statistics.median(p["runtime_error"] for p in pool) * POOLED_ERROR_PENALTY,
                          error_source="median validation error of the job type's curves x 1.5 (borrowed)")
            spec = spec_from_row(dict(pooled, recommendation_id=""), by_signature)
            cores = int(f.get("median_total_cores") or 1)
            at_observed = spec.curve.predict_ms(cores, 1, 4096, max(cores * 2, 1), has_aqe(f.get("spark_version")),
                                                float(f.get("median_input_bytes") or 0))
            pooled["curve_scale"] = float(f.get("median_runtime_ms") or at_observed) / at_observed
            row.update(pooled)
    out, skipped = [], []
    for row in rows:
        f = facts.get(row["job_signature"], {})
        row["recommendation_id"] = base_id("signature", row["job_signature"], row["model_version"], built_at.isoformat())
        try:  # one signature the search cannot serve never blocks the others
            spec = spec_from_row(row, by_signature)
            answer, _ = recommend(spec, float(f.get("median_input_bytes") or 0), catalogue, cloud=cloud, objective=objective,
                                  spot_share=spot_share, driver_memory_mb=max(int(f.get("driver_memory_mb") or 2048), 1024),
                                  dynamic_allocation=bool(f.get("dynamic_allocation")), rules=rule_properties(f.get("findings") or []),
                                  row_id=row["recommendation_id"], context=f"job {row['app_name'] or row['job_signature']}: ",
                                  spark_version=row["spark_version"])
        except Exception as error:  # noqa: BLE001 - recorded per signature with its class and message
            skipped.append(_skipped_row(row["recommendation_id"], row, error))
            continue
        out.append({**row, **answer})
    # A job type pools only the signatures that got a recommendation (lookups rebuild pooled curves from them).
    gone = {r["job_signature"] for r in skipped}
    rows = [r for r in rows if r["job_signature"] not in gone]
    type_rows = []
    for job_type in sorted({r["job_type"] for r in rows}):
        pool = _pool(job_type, rows)
        own = all(p["curve_source"] == "own" for p in pool)
        members = [p["job_signature"] for p in pool]
        error = statistics.median(p["runtime_error"] for p in pool)
        points = [pt for p in pool for pt in p["observed_points"]]
        # Written for the newest Spark its members ran (no AQE if all ran before 3.0), else 3.0.
        version = newest_version(p.get("spark_version") for p in pool)
        base = {"level": "job_type", "job_signature": None, "job_type": job_type, "app_name": None,
                "run_count": sum(p["run_count"] or 0 for p in pool), "config_count": sum(p["config_count"] or 0 for p in pool),
                "model_version": pool[0]["model_version"], "member_signatures": members, "curve_scale": 1.0,
                "curve_source": "job_type", "runtime_error": error if own else max(error, UNKNOWN_ERROR),
                "error_source": f"median validation error over {len(pool)} signature(s) of type {job_type}"
                + ("" if own else " (single-run priors)"), "observed_points": points,
                **{k: None for k in CURVE_COLUMNS}}
        for band, _, _, size in SIZE_BANDS:
            row = dict(base, recommendation_id=base_id("job_type", job_type, band, base["model_version"], built_at.isoformat()))
            try:
                spec = spec_from_row(row, by_signature)
                answer, _ = recommend(spec, size, catalogue, cloud=cloud, objective=objective, spot_share=spot_share,
                                      row_id=row["recommendation_id"], context=f"{job_type} jobs of {band}: ",
                                      spark_version=version)
            except Exception as error:  # noqa: BLE001 - recorded per band with its class and message
                skipped.append(_skipped_row(row["recommendation_id"], dict(row, size_band=band), error))
                continue
            type_rows.append({**row, **answer})
    for row in out + type_rows + skipped:
        row.update(table_versions=versions, pricing_as_of=as_of, built_at=built_at)
    import pyarrow as pa

    store.append(RECOMMENDATIONS, pa.Table.from_pylist(out + type_rows + skipped, schema=RECOMMENDATIONS.arrow_schema()))
    linked = link_ingested_feedback(spark, store, built_at)
    reasons = tuple((r["job_signature"] or f"{r['job_type']} {r['size_band']}", r["rationale"]) for r in skipped)
    return BuildSummary(built_at, len(out), len(type_rows), linked, reasons)


__all__ = ["BuildSummary", "NothingToRecommendError", "build_recommendations", "pricing"]
