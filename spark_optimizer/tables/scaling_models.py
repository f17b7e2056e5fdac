from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import json_curve, json_object_of_doubles, json_object_of_longs

COEFFICIENTS = "map<string,double>"
EXTRAPOLATION = f"struct<coefficients:{COEFFICIENTS},memory_threshold:double,seen_bands:array<int>>"
PROFILE = "map<string,double>"
CURVE_UPGRADES = (
    ColumnUpgrade("coefficients", "string", json_object_of_doubles),
    ColumnUpgrade("profile", "string", json_object_of_doubles),
    ColumnUpgrade("extrapolation", "string", json_curve),
)

SCALING_MODELS = TableSpec(
    name="scaling_models",
    description="Per job signature: the fitted physically-shaped runtime curve (Ernest-style, with a memory-pressure term), "
    "the safe-memory fit, the model that won validation, and its errors; enough to evaluate any size and configuration without Spark.",
    keys=("job_signature",),
    schema_version=7,
    columns=(
        Column("job_signature", "string"),
        Column("job_type", "string"),
        Column("run_count", "int", "successful runs fitted"),
        Column("config_count", "int", "distinct configurations among them"),
        Column("coefficients", COEFFICIENTS, "{term: coefficient} of runtime_s = sum(coefficient * term) (see spark_optimizer/ml/scaling.py)"),
        Column("memory_threshold", "double", "data_per_memory above which the memory-pressure term applies"),
        Column("profile", PROFILE, "{feature: median over the signature's runs}: shuffle/input and output/input ratios, stage and "
               "task counts, CPU and GC shares, operator counts (a feature no run logged is absent)"),
        Column("scaling_mape", "double", "leave-one-configuration-out MAPE of the scaling curve (null when too few configurations)"),
        Column("forest_mape", "double", "out-of-fold MAPE of the global tree model on this signature's runs (gradient boosting, MLlib random forest above 50k runs)"),
        Column("blend_mape", "double", "validation MAPE of the geometric mean of the two (null when the curve has no validation)"),
        Column("chosen_model", "string", "scaling|blend|forest: lowest error with configurations held out (used at input sizes the job ran at)"),
        Column("chosen_model_new_size", "string", "scaling|blend|forest: lowest error with whole input sizes held out (used at sizes it never ran at)"),
        Column("extrapolation", EXTRAPOLATION, "the curve used beyond the input-size bands seen_bands [low, high] (ml.model_inputs.size_band) "
               "the signature ran at (the most FULL_TERMS its configurations identify); null with fewer than two sizes"),
        Column("peak_memory_per_core_bytes", "double", "fitted peak execution memory per task slot at the median input per core"),
        Column("memory_bytes_per_input_byte", "double", "slope of peak execution memory per task over input bytes per task"),
        Column("spill_free_data_per_memory", "double", "largest data_per_memory observed without disk spill"),
        Column("interval_level", "double", "level of the interval ratios below (0.8: 80% of held-out runs inside)"),
        Column("interval_low_ratio", "double", "split-conformal interval at a size the job ran at: low = prediction x this "
               "(from held-out relative errors of the chosen model; pooled over signatures below 20 held-out runs)"),
        Column("interval_high_ratio", "double", "high = prediction x this, at a size the job ran at"),
        Column("new_size_interval_low_ratio", "double", "the same at an input size the job has not run at (whole sizes held out)"),
        Column("new_size_interval_high_ratio", "double"),
        Column("beyond_interval_low_ratio", "double", "the same beyond the range of input sizes the job ran at, or outside its seen "
               "total cores or input per memory (its smallest and its largest exact size held out; symmetric)"),
        Column("beyond_interval_high_ratio", "double"),
        Column("interval_coverage", "double", "measured share of held-out runs inside the interval at a size the job ran at: "
               "the calibration set's held-out groups (configurations) in 5 folds, each checked against the ratios calibrated "
               "on the others; null below 5 groups"),
        Column("new_size_interval_coverage", "double", "the same for the new-size interval (groups: input size bands held out)"),
        Column("beyond_interval_coverage", "double", "the same for the beyond interval (groups: the extreme sizes held out, "
               "two per signature: measured only on a calibration set pooled over 3 or more signatures)"),
        Column("model_version", "string", "MLflow registered model version these rows were trained with"),
        Column("table_versions", "map<string,long>", "Delta version of each table read"),
        Column("trained_at", "timestamp"),
    ),
    upgrades=(ColumnUpgrade("table_versions", "string", json_object_of_longs), *CURVE_UPGRADES),
)
