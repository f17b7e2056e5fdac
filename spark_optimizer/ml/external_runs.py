"""Run histories from outside the event logs (benchmark datasets, cloud job histories, spreadsheets):
read a CSV/TSV/Parquet/Delta file, map its columns onto the `runs` table with a `RunsMapping`, and
resolve machine types through the pricing catalogue to cores, memory and price. Pure pandas.

A mapping names, for the file's columns: the runtime (and its unit), the input size (and its unit), the
machine type and node count (or executors/cores/memory directly), the job's parameters, an optional
measured cost, and any Spark settings (shuffle_partitions, aqe_enabled...). The built-in mapping `c3o`
reads the C3O datasets (dos-group/c3o, data/*.tsv) as they are. A user mapping is a TOML or JSON file
with the same keys as `RunsMapping`:

    job = "grep"                   # the job's name (default: the file's stem), or job_column = "..."
    runtime = "gross_runtime"
    runtime_unit = "s"             # ms | s | min | h
    input_size = "data_size_MB"
    input_unit = "MB"              # B | KB | MB | GB | TB (binary units)
    machine_type = "machine_type"
    nodes = "instance_count"
    cloud = "aws"
    job_params = "rest"            # or a list of columns; "rest": every column no other key names
    ignore = ["slots", "memory"]
    [config]
    shuffle_partitions = "partitions"

A row that cannot be used (no runtime, a machine type the catalogue lacks...) is skipped with its reason;
the rest load.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from spark_optimizer.errors import SparkOptimizerError
from spark_optimizer.ml.model_inputs import stored_job_params

MB = 1024 * 1024
RUNTIME_UNITS_MS = {"ms": 1.0, "s": 1000.0, "min": 60_000.0, "h": 3_600_000.0}
SIZE_UNITS_BYTES = {"B": 1, "KB": 1024, "MB": MB, "GB": 1024 * MB, "TB": 1024 * 1024 * MB}
CONFIG_TARGETS = ("executors", "executor_cores", "executor_memory_mb", "memory_overhead_mb", "shuffle_partitions", "aqe_enabled")


class RunsMappingError(SparkOptimizerError):
    pass


@dataclass(frozen=True)
class RunsMapping:
    """How the columns of a runs file map onto the `runs` table (see the module docstring)."""

    runtime: str
    runtime_unit: str = "s"
    input_size: str | None = None
    input_unit: str = "MB"
    job: str | None = None
    job_column: str | None = None
    machine_type: str | None = None
    nodes: str | None = None
    cloud: str = "aws"
    job_params: tuple[str, ...] | str = "rest"
    ignore: tuple[str, ...] = ()
    cost: str | None = None
    run_id: str | None = None
    config: Mapping[str, str] = field(default_factory=dict)
    name: str = "custom"

    def __post_init__(self):
        if self.runtime_unit not in RUNTIME_UNITS_MS:
            raise RunsMappingError(f"mapping {self.name}: runtime_unit must be one of {', '.join(RUNTIME_UNITS_MS)}, not {self.runtime_unit!r}")
        if self.input_unit not in SIZE_UNITS_BYTES:
            raise RunsMappingError(f"mapping {self.name}: input_unit must be one of {', '.join(SIZE_UNITS_BYTES)}, not {self.input_unit!r}")
        unknown = [k for k in self.config if k not in CONFIG_TARGETS]
        if unknown:
            raise RunsMappingError(f"mapping {self.name}: [config] keys {unknown} are not runs columns; use {', '.join(CONFIG_TARGETS)}")
        if self.machine_type is None and "executors" not in self.config:
            raise RunsMappingError(f"mapping {self.name}: name a machine_type column (with nodes), or executors/executor_cores/"
                                   "executor_memory_mb columns under [config]")

    def named_columns(self) -> set[str]:
        named = {self.runtime, self.input_size, self.job_column, self.machine_type, self.nodes, self.cost, self.run_id,
                 *self.ignore, *self.config.values()}
        return {c for c in named if c}

    def param_columns(self, columns) -> tuple[str, ...]:
        if self.job_params == "rest":
            return tuple(c for c in columns if c not in self.named_columns())
        return tuple(self.job_params)


BUILTIN_MAPPINGS = {
    # C3O (Will et al., IC2E 2021): EMR runs; `slots` and `memory` restate what the machine type gives.
    "c3o": RunsMapping(runtime="gross_runtime", runtime_unit="s", input_size="data_size_MB", input_unit="MB",
                       machine_type="machine_type", nodes="instance_count", cloud="aws", job_params="rest",
                       ignore=("slots", "memory"), name="c3o"),
}


def load_mapping(spec: "str | Path | Mapping[str, Any] | RunsMapping") -> RunsMapping:
    """A built-in mapping by name (`c3o`), a TOML/JSON mapping file, or a dict of RunsMapping fields."""
    if isinstance(spec, RunsMapping):
        return spec
    if isinstance(spec, str) and spec in BUILTIN_MAPPINGS:
        return BUILTIN_MAPPINGS[spec]
    if isinstance(spec, Mapping):
        doc, name = dict(spec), "options"
    else:
        path = Path(spec)
        if not path.is_file():
            raise RunsMappingError(f"no mapping {str(spec)!r}: not a built-in ({', '.join(BUILTIN_MAPPINGS)}) nor a TOML/JSON file")
        try:
            doc = tomllib.loads(path.read_text()) if path.suffix.lower() != ".json" else json.loads(path.read_text())
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
            raise RunsMappingError(f"mapping file {path} does not parse: {error}") from None
        name = path.name
    known = {f.name for f in fields(RunsMapping)}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise RunsMappingError(f"mapping {name}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if "runtime" not in doc:
        raise RunsMappingError(f"mapping {name}: `runtime` (the column holding each run's runtime) is required")
    for key in ("job_params", "ignore"):
        if isinstance(doc.get(key), list):
            doc[key] = tuple(doc[key])
    return RunsMapping(**{"name": name, **doc})


def read_runs_file(path: str | Path) -> pd.DataFrame:
    """A runs file as pandas: .csv, .tsv/.tab, .parquet, or a Delta table directory."""
    path = Path(path)
    if path.is_dir():
        if not (path / "_delta_log").is_dir():
            raise RunsMappingError(f"{path} is a directory but not a Delta table (no _delta_log); give a CSV/TSV/Parquet file or a Delta table")
        from deltalake import DeltaTable

        return DeltaTable(str(path)).to_pandas()
    if not path.is_file():
        raise RunsMappingError(f"runs file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".tab"):
        return pd.read_csv(path, sep="\t")
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise RunsMappingError(f"runs file {path}: unknown format {suffix!r}; use .csv, .tsv, .parquet or a Delta table directory")


def _machine(catalogue, cloud: str, name: str) -> dict[str, float]:
    provider = catalogue.provider(cloud)
    instance = provider.instance(name)
    return {"vcpus": instance.vcpus, "memory_mb": instance.memory_mb - provider.reserve.memory_mb(instance.memory_gib),
            "hourly": provider.node_hourly(instance)}


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def map_runs(frame: pd.DataFrame, mapping: RunsMapping, *, source: str, job: str, catalogue=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs rows, skipped rows with `row` and `reason`) of `frame` under `mapping`.

    Each machine type becomes one executor per node with the node's vCPUs and its memory less the
    platform's node reserve (as YARN offers it), priced at the catalogue's on-demand node price.
    `run_id` is `source:row` unless the mapping names a run-id column, so loading a file twice
    updates its runs rather than adding them again."""
    missing = sorted(c for c in mapping.named_columns() - set(mapping.ignore) if c not in frame.columns)
    params = mapping.param_columns(frame.columns)
    missing += [c for c in params if c not in frame.columns]
    if missing:
        raise RunsMappingError(f"{source}: mapping {mapping.name} names column(s) {', '.join(missing)} that the file lacks; "
                               f"its columns are {', '.join(map(str, frame.columns))}")
    if mapping.machine_type and catalogue is None:
        from spark_optimizer.cost.catalogue import load_pricing_catalogue

        catalogue = load_pricing_catalogue()
    machines: dict[str, dict | str] = {}
    rows, skipped = [], []
    for index, record in enumerate(frame.to_dict("records")):
        def skip(reason: str):
            skipped.append({"row": index, "reason": reason})

        runtime = _number(record.get(mapping.runtime))
        if runtime is None or runtime <= 0:
            skip(f"runtime {record.get(mapping.runtime)!r} in column {mapping.runtime} is not a positive number")
            continue
        row: dict[str, Any] = {
            "run_id": f"{source}:{record[mapping.run_id]}" if mapping.run_id else f"{source}:{index}",
            "source": "external",
            "job_signature": str(record[mapping.job_column]) if mapping.job_column else job,
            "app_name": str(record[mapping.job_column]) if mapping.job_column else job,
            "runtime_ms": int(round(runtime * RUNTIME_UNITS_MS[mapping.runtime_unit])),
            "succeeded": True,
        }
        if mapping.input_size:
            size = _number(record.get(mapping.input_size))
            if size is None or size < 0:
                skip(f"input size {record.get(mapping.input_size)!r} in column {mapping.input_size} is not a number")
                continue
            row["input_bytes"] = int(round(size * SIZE_UNITS_BYTES[mapping.input_unit]))
        else:
            row["input_bytes"] = 0
        if mapping.machine_type:
            name = str(record.get(mapping.machine_type))
            if name not in machines:
                try:
                    machines[name] = _machine(catalogue, mapping.cloud, name)
                except SparkOptimizerError as error:
                    machines[name] = str(error)
            machine = machines[name]
            nodes = _number(record.get(mapping.nodes)) if mapping.nodes else 1.0
            if isinstance(machine, str):
                skip(f"machine type {name!r}: {machine}")
                continue
            if nodes is None or nodes < 1:
                skip(f"node count {record.get(mapping.nodes)!r} in column {mapping.nodes} is not a positive number")
                continue
            row.update(machine_type=name, cloud=mapping.cloud, nodes=int(nodes), executors=int(nodes),
                       executor_cores=int(machine["vcpus"]), executor_memory_mb=int(machine["memory_mb"]),
                       price_per_hour=float(machine["hourly"]) * nodes)
        bad = False
        for target, column in mapping.config.items():
            value = record.get(column)
            if target == "aqe_enabled":
                row[target] = str(value).strip().lower() in ("true", "1", "yes")
                continue
            number = _number(value)
            if number is None:
                skip(f"{target} {value!r} in column {column} is not a number")
                bad = True
                break
            row[target] = int(number)
        if bad:
            continue
        if mapping.cost:
            row["cost"] = _number(record.get(mapping.cost))
        values = {c: _number(record.get(c)) for c in params}
        unusable = [c for c, v in values.items() if v is None]
        if unusable:
            skip(f"job parameter column(s) {', '.join(unusable)} hold no number")
            continue
        row["job_params"] = stored_job_params(values)
        rows.append(row)
    from spark_optimizer.tables import RUNS

    return pd.DataFrame(rows, columns=list(RUNS.column_names)), pd.DataFrame(skipped, columns=["row", "reason"])


def load_runs_file(path: str | Path, mapping: "str | Path | Mapping[str, Any] | RunsMapping", *, job: str | None = None,
                   catalogue=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs rows, skipped rows) of a runs file under a mapping; the job is named by `job`, the mapping, or the file's stem.

    Example::

        runs, skipped = load_runs_file("../shared/datasets/c3o/grep.tsv", "c3o")
    """
    resolved = load_mapping(mapping)
    path = Path(path)
    name = job or resolved.job or path.stem
    return map_runs(read_runs_file(path), resolved, source=f"{path.name}", job=name, catalogue=catalogue)


@dataclass(frozen=True)
class AddRunsSummary:
    added: int
    skipped: pd.DataFrame
    jobs: tuple[str, ...]

    def line(self, source: str) -> str:
        reasons = self.skipped["reason"].value_counts() if len(self.skipped) else {}
        skipped = "; ".join(f"{reason} ({count})" for reason, count in list(reasons.items())[:5])
        return (f"added {self.added} run(s) of {', '.join(self.jobs) or 'no job'} from {source}; skipped {len(self.skipped)} row(s)"
                + (f": {skipped}" if skipped else ""))


def add_runs_file(store, path: str | Path, mapping, updated_at, *, job: str | None = None) -> AddRunsSummary:
    """Load a runs file under a mapping into the runs table (no JVM); skipped rows are reported, not fatal."""
    from spark_optimizer.ml.runs import add_external_runs

    runs, skipped = load_runs_file(path, mapping, job=job)
    added = add_external_runs(store, runs, "external", updated_at) if len(runs) else 0
    return AddRunsSummary(added, skipped, tuple(sorted(runs["job_signature"].unique())) if len(runs) else ())
