"""Runtime-prediction error and recommendation regret on a labelled corpus (benchmarks/corpus.py).

    python benchmarks/evaluate.py CORPUS_DIR [--warehouse DIR] [--folds 10] [--no-whatif] [--out results.md]

1. Ingests CORPUS_DIR/eventlogs into a warehouse (reused when given and already ingested),
   analyzes the runs and builds the `features` and `runs` tables with the library's own jobs.
2. Joins the runs with CORPUS_DIR/runs.csv (workload, scale, configuration id, repeat).
3. Prints, for each model and baseline, mean / median / p90 absolute percentage error of the
   runtime prediction for:
   - leave-configurations-out: folds over configurations, every repeat of a configuration held out
     together (--folds 0: exactly one configuration per fold);
   - leave-largest-input-out: each workload's largest input held out (extrapolation);
   next to the noise floor (each run predicted by the mean of its other repeats).
   Baselines: Ernest's NNLS curve alone, the mean of the k nearest runs of the same job, and the
   what-if simulator (replaying the nearest training run of the same job at the same input size
   at the held-out executor count).
4. Prints the recommendation regret per workload and scale: cost(chosen) / cost(best measured) - 1
   in runtime and in core-seconds, for our recommender (trained without any run of that workload
   and scale), Spark's defaults, the rule of thumb (partitions ~ 2.5x cores) and random search.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spark_optimizer.analysis.analyze import analyze_applications  # noqa: E402
from spark_optimizer.analysis.whatif import WhatIfError, simulate_app  # noqa: E402
from spark_optimizer.config import load_settings  # noqa: E402
from spark_optimizer.eventlog.ingest import ingest_event_logs  # noqa: E402
from spark_optimizer.ml import evaluation  # noqa: E402
from spark_optimizer.ml.features import refresh_features  # noqa: E402
from spark_optimizer.ml.model_inputs import config_key  # noqa: E402
from spark_optimizer.ml.runs import refresh_runs  # noqa: E402
from spark_optimizer.ml.runtime_model import train_runtime_model, usable_runs  # noqa: E402
from spark_optimizer.session import get_or_create_spark  # noqa: E402
from spark_optimizer.tables import APPLICATIONS, JOBS, RUNS, STAGES, TASKS  # noqa: E402
from spark_optimizer.tables.store import TableStore  # noqa: E402

SPARK_DEFAULTS = {"shuffle_partitions": 200, "aqe_enabled": True}


def build_tables(spark, store, corpus: Path) -> None:
    now = datetime.now(timezone.utc)
    summary = ingest_event_logs(spark, store, str(corpus / "eventlogs"), now)
    print(f"ingest: {summary.as_dict()}", flush=True)
    analyze_applications(spark, store, now)
    refresh_features(spark, store, now)
    refresh_runs(spark, store, now)


def corpus_runs(store, corpus: Path) -> pd.DataFrame:
    runs = store.read_arrow(RUNS).to_pandas()
    labels = pd.read_csv(corpus / "runs.csv")
    labels = labels[labels["status"] == "ok"][["app_id", "workload", "scale", "config_id", "repeat"]]
    runs["app_id"] = runs["run_id"].str.split("/").str[0]
    joined = usable_runs(runs.merge(labels, on="app_id", how="inner"))
    return joined


def whatif_predictor(store):
    """Replay the nearest training run of the same job at the same input size at the target's size."""
    tables = {spec.name: store.read_arrow(spec).to_pandas() for spec in (APPLICATIONS, STAGES, TASKS, JOBS)}
    by_app = {name: dict(tuple(frame.groupby("app_id"))) for name, frame in tables.items()}

    def rows(name, app_id):
        frame = by_app[name].get(app_id)
        return [] if frame is None else frame.to_dict("records")

    def predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        out = np.full(len(test), np.nan)
        for i, r in enumerate(test.itertuples(index=False)):
            same = train[(train["job_signature"] == r.job_signature) & (train["input_bytes"] == r.input_bytes)]
            if same.empty:
                continue
            distance = ((same["executor_memory_mb"] != r.executor_memory_mb).astype(int) + (same["shuffle_partitions"] != r.shuffle_partitions).astype(int)
                        + (same["aqe_enabled"] != r.aqe_enabled).astype(int) + (same["executor_cores"] != r.executor_cores).astype(int))
            source = same.loc[distance.idxmin()]
            app_id = source["app_id"]
            try:
                result = simulate_app(rows("applications", app_id)[0], rows("stages", app_id), rows("tasks", app_id), rows("jobs", app_id),
                                      [int(r.executors)], cores_per_executor=int(r.executor_cores))
            except (WhatIfError, IndexError, ValueError):
                continue
            out[i] = result.point(int(r.executors)).estimated_wall_ms
        return out
    return predict


def print_table(title: str, frame: pd.DataFrame) -> None:
    print(f"\n## {title}\n")
    if frame.empty:
        print("(nothing to report)")
        return
    print(frame.to_markdown(index=False, floatfmt=".3f"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--warehouse", type=Path, help="reuse this warehouse (ingested once)")
    parser.add_argument("--folds", type=int, default=10, help="configuration folds; 0 = leave exactly one configuration out")
    parser.add_argument("--inner-folds", type=int, default=3)
    parser.add_argument("--no-whatif", action="store_true")
    parser.add_argument("--no-regret", action="store_true")
    parser.add_argument("--predictions-csv", type=Path, help="write every run's out-of-fold predictions here")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    warehouse = args.warehouse or Path(tempfile.mkdtemp(prefix="evaluate-wh-"))
    spark = get_or_create_spark("local[2]", "spark-optimizer-evaluate", **{"spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false"})
    spark.sparkContext.setLogLevel("ERROR")
    store = TableStore(spark, load_settings(warehouse=str(warehouse), environ={}))
    if not store.exists(RUNS):
        build_tables(spark, store, args.corpus)
    runs = corpus_runs(store, args.corpus)
    configs = len({config_key(r) for r in runs.to_dict("records")})
    print(f"# Evaluation on {args.corpus}\n\n{len(runs)} successful runs, {configs} configurations, "
          f"{runs['workload'].nunique()} workloads, {runs['scale'].nunique()} scales; warehouse {warehouse}", flush=True)

    predictors = evaluation.standard_predictors(spark, args.inner_folds)
    if not args.no_whatif:
        predictors["what-if simulator"] = whatif_predictor(store)
    actual = runs["runtime_ms"].to_numpy(dtype=float)
    noise = evaluation.noise_floor(runs)

    loco = evaluation.cross_validate(runs, predictors, args.folds)
    loco["noise floor (mean of other repeats)"] = noise
    split = "one configuration per fold" if args.folds <= 0 else f"{args.folds} folds over configurations"
    print_table(f"Runtime error, leave-configurations-out ({split})", evaluation.summarize(loco, actual))
    if args.predictions_csv:
        runs.assign(**{f"predicted {name}": values for name, values in loco.items()}).to_csv(args.predictions_csv, index=False)

    model = train_runtime_model(spark, runs, folds=args.inner_folds)
    print_table("Model chosen per signature (trained on every run; validation MAPE of each family)", pd.DataFrame([
        {"signature": signature, "chosen": model.chosen[signature], "curve terms": ",".join(model.scaling[signature].terms),
         **validation}
        for signature, validation in sorted(model.validation.items())
    ]))

    held, extrapolated = evaluation.extrapolate(runs, predictors)
    if extrapolated:
        extrapolated["noise floor (mean of other repeats)"] = noise[held]
    print_table("Runtime error, leave-largest-input-out (extrapolation)", evaluation.summarize(extrapolated, actual[held]))

    if not args.no_regret:
        regret = evaluation.recommendation_regret(spark, runs, SPARK_DEFAULTS, inner_folds=args.inner_folds)
        print_table("Recommendation regret per workload and scale (0 = the best measured configuration)", regret)
        if not regret.empty:
            columns = [c for c in regret.columns if c.startswith("regret ")]
            summary = regret.groupby("objective")[columns].agg(["mean", "max"])
            summary.columns = [f"{a} {b}" for a, b in summary.columns]
            print_table("Regret summary", summary.reset_index())
            within = regret.groupby("objective")[columns].agg(lambda s: float((s <= 0.10).mean()))
            print_table("Share of workload-scales within 10% of the best", within.reset_index())
    print(f"\nelapsed {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    import os

    os._exit(code)
