"""The configuration grid of the corpus and the plan of runs (which configuration, scale and
repeat each run is)."""

from __future__ import annotations

import argparse
import itertools
import random
import re
from dataclasses import asdict, dataclass

GRID_LEVELS = {
    "executors": (1, 2),
    "executor_cores": (1, 2),
    "executor_memory_mb": (512, 1024, 2048),
    "shuffle_partitions": (8, 32, 200),
    "aqe": (True, False),
}
# the defaults-like configuration + 2 drawn for that scale alone (3 x 3 repeats x 3 scales x 6
# workloads = 162 runs keeps the default corpus near 45 minutes on 2 cores; 4 per scale took 73)
CONFIGS_PER_SCALE = 3
# Which block of the workload's drawn configurations a scale runs: the largest scale the first
# block (it holds the smallest memory, so the largest input meets a memory cliff), and every scale
# a different block, so a workload is measured at 1 + 2 x 3 = 7 configurations in all.
SCALE_BLOCK = {"large": 0, "medium": 1, "small": 2, "tiny": 2}
ROUNDS = 3  # rounds of each dimension's levels drawn per workload; fixed, so that shorter lists are prefixes
MAX_CONFIGS = 1 + (CONFIGS_PER_SCALE - 1) * (max(SCALE_BLOCK.values()) + 1)
DEFAULT_SCALES = ("small", "medium", "large")


@dataclass(frozen=True)
class Config:
    executors: int
    executor_cores: int
    executor_memory_mb: int
    shuffle_partitions: int
    aqe: bool

    @property
    def config_id(self) -> str:
        return (f"e{self.executors}c{self.executor_cores}m{self.executor_memory_mb}"
                f"p{self.shuffle_partitions}-{'aqe' if self.aqe else 'noaqe'}")  # fmt: skip

    @classmethod
    def parse(cls, config_id: str) -> Config:
        m = re.fullmatch(r"e(\d+)c(\d+)m(\d+)p(\d+)-(aqe|noaqe)", config_id)
        if not m:
            raise argparse.ArgumentTypeError(f"expected a config id like e2c1m1024p200-aqe, got {config_id!r}")
        e, c, mb, p, aqe = m.groups()
        return cls(int(e), int(c), int(mb), int(p), aqe == "aqe")


DEFAULTS_LIKE = Config(2, 1, 1024, 200, True)
FULL_GRID = [Config(*values) for values in itertools.product(*GRID_LEVELS.values())]


def workload_configs(workload: str, count: int) -> list[Config]:
    """The defaults-like configuration, then a seeded balanced sample of the grid. Each dimension
    runs through rounds of its levels, each round a seeded shuffle; a dimension of three levels
    (memory, shuffle partitions) takes its two non-default levels first (for memory the smallest
    first, so that even the largest scale's short list has a configuration that spills). So the
    first configurations already span every level, two-level dimensions vary independently from
    one workload to the next, and later picks do not line up the defaults. The draws do not depend
    on `count`: a shorter list is a prefix of a longer one (the scales' lists nest)."""
    rng = random.Random(f"corpus-grid/{workload}")
    default = asdict(DEFAULTS_LIKE)
    sequences = {}
    for name, levels in GRID_LEVELS.items():
        sequence = [level for level in levels if len(levels) < 3 or level != default[name]]
        rng.shuffle(sequence)
        if name == "executor_memory_mb":
            sequence.sort()
        for _ in range(ROUNDS):
            round_ = list(levels)
            rng.shuffle(round_)
            sequence += round_
        sequences[name] = sequence
    if count > MAX_CONFIGS:
        raise ValueError(f"at most {MAX_CONFIGS} configurations per workload are sampled, {count} asked for")
    configs, index = [DEFAULTS_LIKE], 0
    while len(configs) < count:
        candidate = Config(**{name: sequences[name][index % len(sequences[name])] for name in GRID_LEVELS})
        index += 1
        if candidate in configs:  # rare: the same point twice; shift one dimension's sequence
            name = rng.choice(list(GRID_LEVELS))
            sequences[name] = sequences[name][1:] + sequences[name][:1]
            continue
        configs.append(candidate)
    return configs


def scale_configs(workload: str, scale: str) -> list[Config]:
    """The configurations a workload runs at `scale`: the defaults-like one (so Spark's defaults
    are measured at every scale) and that scale's own block of the workload's drawn sample."""
    drawn = workload_configs(workload, MAX_CONFIGS)
    first = 1 + SCALE_BLOCK[scale] * (CONFIGS_PER_SCALE - 1)
    return [DEFAULTS_LIKE] + drawn[first : first + CONFIGS_PER_SCALE - 1]


@dataclass(frozen=True)
class Run:
    workload: str
    scale: str
    config: Config
    repeat: int

    @property
    def run_id(self) -> str:
        return f"{self.workload}.{self.scale}.{self.config.config_id}.r{self.repeat}"


def plan_runs(workloads: list[str], scales: list[str], repeats: int, configs: list[Config] | None,
              paired: bool = False) -> list[Run]:
    """Scale by scale (smallest first, so a stopped corpus is complete for the small inputs),
    workload by workload; inside one (workload, scale), repeat-major so repeats are spread out.
    `paired`: the i-th workload runs with the i-th of `configs` only (each workload and each
    configuration once, consecutive applications of one driver with different resources)."""
    runs = []
    for scale in scales:
        for index, workload in enumerate(workloads):
            chosen = configs or scale_configs(workload, scale)
            if paired and configs:
                chosen = [configs[index % len(configs)]]
            for repeat in range(1, repeats + 1):
                runs += [Run(workload, scale, config, repeat) for config in chosen]
    return runs
