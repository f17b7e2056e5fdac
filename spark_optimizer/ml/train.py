"""The training job: features -> runs -> runtime and resource models, logged to MLflow, with the
per-signature curves written to `scaling_models` for JVM-free lookups."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from pyspark.sql import SparkSession

from spark_optimizer.config import Settings
from spark_optimizer.errors import SparkOptimizerError
from spark_optimizer.ml.features import refresh_features
from spark_optimizer.ml.model_inputs import config_key, model_frame
from spark_optimizer.ml.resource_model import fit_resource
from spark_optimizer.ml.runs import refresh_runs
from spark_optimizer.ml.runtime_model import BOOSTED_PARAMS, FOREST_PARAMS, INTERVAL_LEVEL, LOCAL_FIT_MAX_RUNS, RuntimeModel, skip_reasons, train_runtime_model, usable_runs
from spark_optimizer.ml.scaling import TERM_SETS
from spark_optimizer.ml import tracking
from spark_optimizer.tables import FEATURES, RUNS, SCALING_MODELS
from spark_optimizer.tables.store import TableStore


class NotEnoughRunsError(SparkOptimizerError):
    pass


@dataclass(frozen=True)
class TrainSummary:
    runs: int
    signatures: int
    scaling_wins: int
    forest_wins: int
    blend_wins: int
    metrics: dict
    runtime_model_version: str
    resource_model_version: str | None
    mlflow_run_id: str
    skipped: dict[str, int] = field(default_factory=dict)

    def skipped_line(self) -> str:
        """One line: how many runs training left out and why (details: the runs table's skip_reason column)."""
        if not self.skipped:
            return "skipped no runs"
        reasons = "; ".join(f"{reason} ({count})" for reason, count in sorted(self.skipped.items(), key=lambda x: (-x[1], x[0])))
        return f"skipped {sum(self.skipped.values())} run(s): {reasons} — see the runs table, column skip_reason"


def _selected_error(model: RuntimeModel) -> float | None:
    """Run-weighted validation MAPE of the model chosen for each signature."""
    total, weight = 0.0, 0
    for signature, v in model.validation.items():
        chosen = v[f"{model.chosen.get(signature, 'forest')}_mape"]
        if chosen is not None:
            total += chosen * v["runs"]
            weight += v["runs"]
    return total / weight if weight else None


def _clean(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def train_models(spark: SparkSession, store: TableStore, settings: Settings, trained_at: datetime, folds: int = 3) -> TrainSummary:
    """Refresh features and runs, fit the models, log them to MLflow and write `scaling_models`.

    Example::

        ctx = AppContext(load_settings(warehouse="/tmp/wh"))
        summary = train_models(ctx.spark, ctx.store, ctx.settings, datetime.now(timezone.utc))
    """
    refresh_features(spark, store, trained_at)
    refresh_runs(spark, store, trained_at)
    runs = store.read_arrow(RUNS).to_pandas()
    reasons = skip_reasons(runs)
    skipped = {str(k): int(v) for k, v in reasons.value_counts().items()}
    usable = usable_runs(runs)
    if len(usable) < 2:
        raise NotEnoughRunsError(
            f"the runs table in {settings.warehouse} has {len(usable)} successful run(s) with a configuration; training needs "
            "at least 2 — ingest more event logs (`spark-optimizer collect`) and analyze them, or add runs "
            f"(`spark-optimizer add-runs FILE --mapping ...`); {'; '.join(f'{k}: {v}' for k, v in skipped.items()) or 'none skipped'}"
        )
    table_versions = {"runs": store.version(RUNS), "features": store.version(FEATURES)}
    model = train_runtime_model(spark, usable, folds=folds)
    resource_fits = {sig: fit for sig, group in usable.groupby("job_signature")
                     if (fit := fit_resource(group, model.profiles.get(sig, {}))) is not None}

    mlflow = tracking.configure_mlflow(settings.resolved_mlflow_tracking_uri())
    artifact_root = settings.mlflow_artifact_root()
    selected = _selected_error(model)
    metrics = {k: v for k, v in {**model.overall, "selected_validation_mape": selected}.items() if v is not None}
    with mlflow.start_run(experiment_id=tracking.experiment_id(mlflow, tracking.experiment_name(settings, tracking.RUNTIME), artifact_root),
                          run_name=f"runtime-{trained_at:%Y%m%dT%H%M%S}") as run:
        tree_params = BOOSTED_PARAMS if model.forest.local is not None else FOREST_PARAMS
        mlflow.log_params({**{f"forest_{k}": v for k, v in tree_params.items()}, "skipped_runs": sum(skipped.values()), "scaling_term_sets": " | ".join(",".join(t) for t in TERM_SETS),
                           "validation_folds": folds, "runs": len(usable), "signatures": len(model.chosen)})
        mlflow.set_tags({f"data_version.{k}": str(v) for k, v in table_versions.items()})
        mlflow.log_metrics(metrics)
        mlflow.log_dict({sig: {"chosen": model.chosen[sig], "chosen_new_size": model.chosen_new_size.get(sig), **model.validation[sig],
                               "terms": list(fit.terms), "coefficients": dict(sorted(fit.coefficients.items())),
                               "memory_threshold": fit.memory_threshold}
                         for sig, fit in model.scaling.items()}, "scaling_models.json")
        info = tracking.log_runtime_forest(mlflow, model.forest, model_frame(usable, model.profiles, model.forest.params))
        mlflow.log_dict({"columns": list(model.forest.columns), "local_fit_max_runs": LOCAL_FIT_MAX_RUNS}, "forest_columns.json")
        runtime_version = tracking.register_champion(mlflow, info.model_uri, tracking.registered_model_name(settings, tracking.RUNTIME))
        run_id = run.info.run_id
    resource_version = None
    if resource_fits:
        with mlflow.start_run(experiment_id=tracking.experiment_id(mlflow, tracking.experiment_name(settings, tracking.RESOURCE), artifact_root),
                              run_name=f"resource-{trained_at:%Y%m%dT%H%M%S}"):
            mlflow.log_params({"signatures": len(resource_fits), "headroom": 1.25})
            mlflow.set_tags({f"data_version.{k}": str(v) for k, v in table_versions.items()})
            mlflow.log_metrics({"signatures_with_peaks": len(resource_fits)})
            info = tracking.log_resource_model(mlflow, resource_fits, usable)
            resource_version = tracking.register_champion(mlflow, info.model_uri, tracking.registered_model_name(settings, tracking.RESOURCE))

    rows = []
    for signature, group in usable.groupby("job_signature"):
        fit = model.scaling[signature]
        resource = resource_fits.get(signature)
        validation = model.validation[signature]
        rows.append({
            "job_signature": signature,
            "job_type": group["job_type"].mode().iat[0] if group["job_type"].notna().any() else None,
            "run_count": len(group),
            "config_count": len({config_key(r) for r in group.to_dict("records")}),
            "coefficients": dict(sorted(fit.coefficients.items())),
            "memory_threshold": fit.memory_threshold,
            "profile": {k: v for k, v in model.profiles.get(signature, {}).items() if _clean(v) is not None},
            "scaling_mape": _clean(validation["scaling_mape"]),
            "forest_mape": _clean(validation["forest_mape"]),
            "blend_mape": _clean(validation["blend_mape"]),
            "chosen_model": model.chosen[signature],
            "chosen_model_new_size": model.chosen_new_size.get(signature),
            "extrapolation": fit.extrapolation(),
            "peak_memory_per_core_bytes": resource.base_bytes if resource else None,
            "memory_bytes_per_input_byte": resource.bytes_per_task_byte if resource else None,
            "spill_free_data_per_memory": resource.spill_free_pressure if resource else None,
            **_interval_columns(model, signature),
            "model_version": runtime_version,
            "table_versions": table_versions,
            "trained_at": trained_at,
        })
    store.ensure(SCALING_MODELS)
    import pyarrow as pa

    store.overwrite(SCALING_MODELS, pa.Table.from_pylist(rows, schema=SCALING_MODELS.arrow_schema()))
    wins = list(model.chosen.values())
    return TrainSummary(len(usable), len(model.chosen), wins.count("scaling"), wins.count("forest"), wins.count("blend"), metrics,
                        runtime_version, resource_version, run_id, skipped)


def _interval_columns(model: RuntimeModel, signature: str) -> dict:
    out = {"interval_level": INTERVAL_LEVEL}
    for regime, prefix in (("seen", ""), ("new_size", "new_size_"), ("beyond", "beyond_")):
        ratios = model.interval_ratios(signature, regime)
        out[f"{prefix}interval_low_ratio"], out[f"{prefix}interval_high_ratio"] = ratios if ratios else (None, None)
        out[f"{prefix}interval_coverage"] = model.interval_coverage(signature, regime) if ratios else None
    return out

