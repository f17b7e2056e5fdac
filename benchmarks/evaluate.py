"""Runtime-prediction error, interval coverage and choice regret on measured runs: a labelled corpus
(benchmarks/corpus.py) or any runs file with a column mapping.

    python benchmarks/evaluate.py CORPUS_DIR [--warehouse DIR] [--folds 10] [--no-whatif] [--out results.md]
    python benchmarks/evaluate.py --runs ../shared/datasets/c3o/grep.tsv --mapping c3o

Runs file (CSV/TSV/Parquet/Delta; mapping: a built-in name such as c3o, or a TOML/JSON file, see
spark_optimizer/ml/external_runs.py): repeats are runs that agree on configuration, exact input size and
job parameters. Printed: leave-one-configuration-out median/mean/p90 APE of the product's model and of
Ernest (NNLS on [1, size/machines, log machines, machines], same splits) beside the noise floor; the
coverage of the 80% interval inside the seen sizes (leave-one-configuration-out) and beyond them (each
job's largest input held out); per job input, the regret of the fastest and the cheapest configuration
chosen by a model trained without that input's runs; the time taken.

Corpus:

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
import os
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
from spark_optimizer.ml.external_runs import load_runs_file  # noqa: E402
from spark_optimizer.ml.model_inputs import error_summary, input_key  # noqa: E402
from spark_optimizer.ml.runtime_model import INTERVAL_LEVEL, LOCAL_FIT_MAX_RUNS, group_folds, train_runtime_model, usable_runs  # noqa: E402
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


def error_rows(predictions: dict[str, np.ndarray], actual: np.ndarray) -> pd.DataFrame:
    rows = []
    for name, predicted in predictions.items():
        valid = ~np.isnan(predicted)
        if valid.any():
            summary = error_summary(predicted[valid], actual[valid])
            rows.append({"model": name, "median APE": summary["mdape"], "mean APE": summary["mape"], "p90 APE": summary["p90_ape"],
                         "runs": summary["count"]})
    return pd.DataFrame(rows)


def coverage_rows(label: str, frame: pd.DataFrame, actual: np.ndarray) -> list[dict]:
    """Coverage of the held-out runs' intervals: all, inside the seen data (a size the job ran at, a configuration
    inside the seen ones: calibrated by configurations held out) and beyond it (a size outside the range the job
    ran at, or a configuration outside the seen cores or memory per input: calibrated by held-out extrapolations)."""
    inside = (frame["interval_regime"] == "seen").to_numpy()
    beyond = (frame["interval_regime"] == "beyond").to_numpy()
    rows = []
    for subset, mask in ((label, np.ones(len(frame), dtype=bool)),
                         (f"{label}, inside the seen sizes and configurations", inside),
                         (f"{label}, a new size inside the range", ~inside & ~beyond),
                         (f"{label}, beyond the seen sizes or configurations", beyond)):
        if mask.any():
            part = frame[mask]
            width = (part["runtime_high_ms"] / part["runtime_low_ms"]).median()
            rows.append({"held-out runs": subset, "runs": int(mask.sum()), "coverage": evaluation.coverage(part, actual[mask]),
                         "median high/low": width,
                         "labels": ", ".join(f"{k} {v}" for k, v in part["confidence_label"].value_counts().items())})
    return rows


def evaluate_runs_file(args) -> int:
    started, cpu_started = time.perf_counter(), time.process_time()
    runs, skipped = load_runs_file(args.runs, args.mapping)
    runs = usable_runs(runs)
    spark = None
    if len(runs) > LOCAL_FIT_MAX_RUNS:  # the product fits small run sets on the driver, larger ones with MLlib
        spark = get_or_create_spark("local[2]", "spark-optimizer-evaluate", **{"spark.ui.enabled": "false"})
    configs = evaluation.configuration_folds(runs)
    config_count = int(configs.max()) + 1
    if args.held_out_configs:  # every k-th configuration, evenly over the sorted configuration keys
        step = max((configs.max() + 1) // args.held_out_configs, 1)
        configs = np.where(configs % step == 0, configs, -1)
    inputs = len({input_key(r) for r in runs.to_dict("records")})
    print(f"# Evaluation on {args.runs} (mapping {args.mapping})\n\n{len(runs)} runs, {config_count} configurations, "
          f"{inputs} inputs (size x job parameters), {runs['job_signature'].nunique()} job(s); {len(skipped)} row(s) skipped", flush=True)
    actual = runs["runtime_ms"].to_numpy(dtype=float)
    baselines = {"ernest (NNLS)": evaluation.ernest_predictor()}

    t0, c0 = time.perf_counter(), time.process_time()
    loco = evaluation.held_out_intervals(spark, runs, configs, baselines, inner_folds=args.inner_folds)
    loco_s, loco_cpu = time.perf_counter() - t0, time.process_time() - c0
    loco = loco.reindex(range(len(runs)))
    predictions = {"selected (ours)": loco["predicted_runtime_ms"].to_numpy(dtype=float),
                   **{name: loco[f"predicted {name}"].to_numpy(dtype=float) for name in baselines},
                   "noise floor (mean of other repeats)": evaluation.noise_floor(runs)}
    folds = len(set(configs.tolist()) - {-1})
    scored = configs >= 0
    predictions["noise floor (mean of other repeats)"] = np.where(scored, predictions["noise floor (mean of other repeats)"], np.nan)
    print_table(f"Runtime error, leave-one-configuration-out ({folds} configurations held out one at a time, {loco_s:.0f} s)",
                error_rows({k: v[scored] for k, v in predictions.items()}, actual[scored]))

    t0 = time.perf_counter()
    fold = evaluation.largest_size_fold(runs)
    held = fold == 0
    beyond = evaluation.held_out_intervals(spark, runs, fold, baselines, inner_folds=args.inner_folds)
    if not beyond.empty:
        print_table(f"Runtime error, each job's largest input held out ({held.sum()} runs)", error_rows(
            {"selected (ours)": beyond["predicted_runtime_ms"].to_numpy(dtype=float),
             **{name: beyond[f"predicted {name}"].to_numpy(dtype=float) for name in baselines}}, actual[held]))
    coverage = coverage_rows("leave-one-configuration-out", loco[scored], actual[scored])
    if not beyond.empty:
        coverage += coverage_rows("largest input held out", beyond, actual[held])
    print_table(f"Coverage of the {INTERVAL_LEVEL:.0%} interval", pd.DataFrame(coverage))
    extra_s = time.perf_counter() - t0

    regret_s = 0.0
    if not args.no_regret:
        t0 = time.perf_counter()
        regret = evaluation.choice_regret(spark, runs, inner_folds=args.inner_folds)
        regret_s = time.perf_counter() - t0
        print_table("Choice regret per job input (model trained without that input's runs; 0 = the best measured)", regret)
        if not regret.empty:
            columns = [c for c in regret.columns if c.startswith("regret ")]
            print_table("Regret summary", pd.DataFrame([{"objective": c.removeprefix("regret "), "mean": regret[c].mean(),
                                                         "median": regret[c].median(), "max": regret[c].max(),
                                                         "within 5%": float((regret[c] <= 0.05).mean())} for c in columns]))
    print(f"\ntime: leave-one-configuration-out {loco_s:.0f} s wall, {loco_cpu:.0f} s CPU ({loco_s / folds:.1f} s per fit), largest input held out "
          f"{extra_s:.0f} s, regret {regret_s:.0f} s, total {timing_line(started, cpu_started)}")
    return 0


def timing_line(started: float, cpu_started: float) -> str:
    return (f"{time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu_started:.0f} s CPU of this process "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, nargs="?")
    parser.add_argument("--runs", type=Path, help="a runs file (CSV/TSV/Parquet/Delta) instead of a corpus")
    parser.add_argument("--held-out-configs", type=int, default=0,
                        help="with --runs: hold out only about this many configurations (evenly spread), one at a time; 0 = all")
    parser.add_argument("--mapping", default="c3o", help="column mapping of --runs: built-in name (c3o) or a TOML/JSON file")
    parser.add_argument("--warehouse", type=Path, help="reuse this warehouse (ingested once)")
    parser.add_argument("--folds", type=int, default=10, help="configuration folds; 0 = leave exactly one configuration out")
    parser.add_argument("--inner-folds", type=int, default=3)
    parser.add_argument("--no-whatif", action="store_true")
    parser.add_argument("--no-regret", action="store_true")
    parser.add_argument("--predictions-csv", type=Path, help="write every run's out-of-fold predictions here")
    args = parser.parse_args(argv)
    if args.runs:
        return evaluate_runs_file(args)
    if args.corpus is None:
        parser.error("give a CORPUS_DIR or --runs FILE")

    started, cpu_started = time.perf_counter(), time.process_time()
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

    ours = predictors.pop("selected (ours)")  # scored below with its intervals, on the same folds
    assignment = evaluation.configuration_folds(runs) if args.folds <= 0 else group_folds(runs, args.folds)
    intervals = evaluation.held_out_intervals(spark, runs, assignment, {}, inner_folds=args.inner_folds)
    loco = {"selected (ours)": intervals["predicted_runtime_ms"].to_numpy(dtype=float),
            **evaluation.cross_validate(runs, predictors, args.folds)}
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
    beyond = evaluation.held_out_intervals(spark, runs, evaluation.largest_size_fold(runs), {}, inner_folds=args.inner_folds)
    if extrapolated:
        extrapolated = {"selected (ours)": beyond["predicted_runtime_ms"].to_numpy(dtype=float), **extrapolated,
                        "noise floor (mean of other repeats)": noise[held]}
    print_table("Runtime error, leave-largest-input-out (extrapolation)", evaluation.summarize(extrapolated, actual[held]))
    coverage = coverage_rows("leave-configurations-out", intervals, actual)
    if not beyond.empty:
        coverage += coverage_rows("largest input held out", beyond, actual[held])
    print_table(f"Coverage of the {INTERVAL_LEVEL:.0%} interval", pd.DataFrame(coverage))

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
    print(f"\nelapsed {timing_line(started, cpu_started)}")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
