"""Deterministic Parquet inputs for the corpus, generated once per scale with numpy + pyarrow.

Every dataset is a folder of Parquet files under `<data>/<scale>/<dataset>/` plus a
`_dataset.json` manifest (rows, bytes on disk, generator version); Spark skips files starting
with `_`, so the manifest sits beside the data. A file's rows come from a numpy generator seeded
by (dataset, scale, file index), so the same scale gives the same bytes on every machine with
the same library versions, and files are generated one at a time (bounded memory).

`SCALES` gives the fact-table row count N of each scale; the other tables are sized from N:

| dataset   | rows     | what it is                                                            |
|-----------|----------|-----------------------------------------------------------------------|
| sales     | N        | retail fact: customer (uniform), product (Zipf-like), store, date, price, a text note |
| customers | N / 10   | customer dimension with a text name, segment, country                 |
| products  | 5,000    | product dimension: category, brand, list price                        |
| stores    | 200      | store dimension: region, city                                         |
| returns   | N / 20   | returned sales (unique sale ids), refund, reason                      |
| clicks    | N        | click fact whose page id is skewed: 30% of clicks hit page 0          |
| pages     | N / 10   | page dimension with a long URL                                        |
| events    | N        | user events of which ~15% are exact duplicates of an earlier event    |
| points    | N / 5    | 8 numeric features drawn around 6 centres, for the MLlib fit          |
"""

from __future__ import annotations

import json
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

GENERATOR_VERSION = 1
SCALES: dict[str, int] = {"tiny": 20_000, "small": 300_000, "medium": 1_000_000, "large": 3_000_000}
EPOCH_DAY_2024 = 19723  # 2024-01-01 as days since 1970-01-01
EPOCH_S_2024 = EPOCH_DAY_2024 * 86_400
WORDS = np.array(
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
    "quebec romeo sierra tango uniform victor whiskey xray yankee zulu amber basalt cedar dune ember "
    "fjord granite harbor iris jasper kelp lagoon meadow nectar opal prairie quartz ridge summit "
    "tundra umber valley willow".split()
)


@dataclass(frozen=True)
class Dataset:
    name: str
    rows: Callable[[int], int]  # fact rows N -> this dataset's rows
    files: int
    make: Callable[[np.random.Generator, int, int, int], pa.Table]  # (rng, first row, rows, N)


@dataclass(frozen=True)
class DatasetInfo:
    path: Path
    rows: int
    bytes: int


def _words(rng: np.random.Generator, n: int, count: int) -> pa.Array:
    """n strings of `count` words from WORDS joined by spaces (realistic, compressible text)."""
    parts = [pa.array(WORDS[rng.integers(0, len(WORDS), n)]) for _ in range(count)]
    return pc.binary_join_element_wise(*parts, " ")


def _label(prefix: str, values: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(pa.scalar(prefix), pc.cast(pa.array(values), pa.string()), "")


def _choice(rng: np.random.Generator, options: list[str], n: int, weights: list[float] | None = None) -> pa.Array:
    p = None if weights is None else np.asarray(weights) / sum(weights)
    return pa.array(np.asarray(options)[rng.choice(len(options), n, p=p)])


def _sales(rng, first, n, big_n):
    ids = np.arange(first, first + n, dtype=np.int64)
    quantity = rng.integers(1, 10, n).astype(np.int32)
    price = np.round(rng.gamma(2.0, 15.0, n) + 0.99, 2)
    return pa.table({
        "sale_id": ids,
        "customer_id": rng.integers(0, max(1, big_n // 10), n, dtype=np.int64),
        "product_id": np.minimum(rng.zipf(1.3, n) - 1, 4999).astype(np.int32),
        "store_id": rng.integers(0, 200, n).astype(np.int32),
        "sale_date": pa.array((EPOCH_DAY_2024 + rng.integers(0, 730, n)).astype(np.int32), pa.int32()).cast(pa.date32()),
        "quantity": quantity,
        "unit_price": price,
        "discount": np.round(rng.choice([0.0, 0.05, 0.1, 0.2], n, p=[0.6, 0.2, 0.15, 0.05]), 2),
        "channel": _choice(rng, ["store", "web", "app", "phone", "partner"], n, [50, 25, 15, 5, 5]),
        "note": _words(rng, n, 4),
    })  # fmt: skip


def _customers(rng, first, n, big_n):
    ids = np.arange(first, first + n, dtype=np.int64)
    return pa.table({
        "customer_id": ids,
        "name": pc.binary_join_element_wise(_words(rng, n, 2), _label("#", ids), " "),
        "segment": _choice(rng, ["consumer", "small_business", "enterprise", "public", "student"], n),
        "country": _label("C", rng.integers(0, 30, n)),
        "signup_date": pa.array((EPOCH_DAY_2024 - rng.integers(0, 3650, n)).astype(np.int32), pa.int32()).cast(pa.date32()),
        "lifetime_value": np.round(rng.lognormal(5, 1, n), 2),
    })  # fmt: skip


def _products(rng, first, n, big_n):
    return pa.table({
        "product_id": np.arange(first, first + n, dtype=np.int32),
        "category": _label("cat_", rng.integers(0, 20, n)),
        "brand": _label("brand_", rng.integers(0, 200, n)),
        "list_price": np.round(rng.gamma(2.0, 20.0, n) + 0.99, 2),
    })  # fmt: skip


def _stores(rng, first, n, big_n):
    return pa.table({
        "store_id": np.arange(first, first + n, dtype=np.int32),
        "region": _label("region_", rng.integers(0, 8, n)),
        "city": _words(rng, n, 2),
    })  # fmt: skip


def _returns(rng, first, n, big_n):
    # Every 20th sale id, shifted by a seeded offset: unique, and spread over the whole fact table.
    ids = np.arange(first, first + n, dtype=np.int64) * 20 + rng.integers(0, 20, n)
    return pa.table({
        "sale_id": np.minimum(ids, big_n - 1),
        "return_date": pa.array((EPOCH_DAY_2024 + rng.integers(0, 760, n)).astype(np.int32), pa.int32()).cast(pa.date32()),
        "refund": np.round(rng.gamma(2.0, 15.0, n), 2),
        "reason": _choice(rng, ["damaged", "wrong_item", "late", "not_needed", "other"], n),
    })  # fmt: skip


def _clicks(rng, first, n, big_n):
    pages = max(2, big_n // 10)
    hot = rng.random(n) < 0.3  # 30% of all clicks land on page 0 (a home page)
    return pa.table({
        "click_id": np.arange(first, first + n, dtype=np.int64),
        "page_id": np.where(hot, 0, rng.integers(1, pages, n)).astype(np.int64),
        "user_id": rng.integers(0, max(1, big_n // 20), n, dtype=np.int64),
        "ts": pa.array((EPOCH_S_2024 + rng.integers(0, 60 * 86_400, n)) * 1_000_000, pa.int64()).cast(pa.timestamp("us", "UTC")),
        "dwell_ms": rng.exponential(8000, n).astype(np.int32),
    })  # fmt: skip


def _pages(rng, first, n, big_n):
    ids = np.arange(first, first + n, dtype=np.int64)
    url = pc.binary_join_element_wise(pa.scalar("https://shop.example.com/"), _words(rng, n, 3), _label("/p", ids), "")
    return pa.table({
        "page_id": ids,
        "url": pc.replace_substring(url, " ", "-"),
        "section": _choice(rng, ["home", "search", "product", "cart", "checkout", "help", "blog"], n),
        "word_count": rng.integers(50, 5000, n).astype(np.int32),
    })  # fmt: skip


def _events(rng, first, n, big_n):
    # ~15% of rows repeat an earlier row of the same file exactly (a retried delivery).
    ids = np.arange(first, first + n, dtype=np.int64)
    dup = rng.random(n) < 0.15
    ids = np.where(dup & (ids > first), first + (rng.random(n) * (ids - first)).astype(np.int64), ids)
    user = (ids * 2654435761) % max(1, big_n // 20)  # a function of the event id, so duplicates agree
    seconds = EPOCH_S_2024 + (ids * 7919) % (30 * 86_400)
    kinds = np.array(["view", "click", "add_to_cart", "remove", "purchase", "search", "login", "logout"])
    return pa.table({
        "event_id": ids,
        "user_id": user,
        "event_time": pa.array(seconds * 1_000_000, pa.int64()).cast(pa.timestamp("us", "UTC")),
        "event_type": pa.array(kinds[ids % len(kinds)]),
        "value": np.round((ids % 1000) / 7.0, 3),
        "payload": pa.array(WORDS[ids % len(WORDS)]),
    })  # fmt: skip


def _points(rng, first, n, big_n):
    centres = np.random.default_rng(7).normal(0, 5, (6, 8))  # the same 6 centres in every file
    which = rng.integers(0, 6, n)
    features = centres[which] + rng.normal(0, 1.5, (n, 8))
    return pa.table({f"f{i}": features[:, i] for i in range(8)} | {"segment": which.astype(np.int32)})


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset("sales", lambda n: n, 8, _sales),
        Dataset("customers", lambda n: max(1, n // 10), 4, _customers),
        Dataset("products", lambda n: 5000, 1, _products),
        Dataset("stores", lambda n: 200, 1, _stores),
        Dataset("returns", lambda n: max(1, n // 20), 2, _returns),
        Dataset("clicks", lambda n: n, 8, _clicks),
        Dataset("pages", lambda n: max(2, n // 10), 4, _pages),
        Dataset("events", lambda n: n, 8, _events),
        Dataset("points", lambda n: max(1, n // 5), 4, _points),
    ]
}


def _seed(dataset: str, scale: str, part: int) -> int:
    return zlib.crc32(f"{dataset}/{scale}/{part}/v{GENERATOR_VERSION}".encode())


def ensure_dataset(data_dir: Path, scale: str, name: str) -> DatasetInfo:
    """The dataset's folder, generated on first use (into a temporary folder, then renamed)."""
    folder = data_dir / scale / name
    manifest = folder / "_dataset.json"
    if manifest.exists():
        info = json.loads(manifest.read_text())
        if info.get("generator_version") == GENERATOR_VERSION and info.get("fact_rows") == SCALES[scale]:
            return DatasetInfo(folder, info["rows"], info["bytes"])
        shutil.rmtree(folder)
    dataset, big_n = DATASETS[name], SCALES[scale]
    total = dataset.rows(big_n)
    files = max(1, min(dataset.files, total // 1000))
    work = folder.with_name(f".{name}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for part in range(files):
        first, last = total * part // files, total * (part + 1) // files
        table = dataset.make(np.random.default_rng(_seed(name, scale, part)), first, last - first, big_n)
        pq.write_table(table, work / f"part-{part:05d}.parquet", compression="snappy")
    size = sum(p.stat().st_size for p in work.glob("*.parquet"))
    (work / "_dataset.json").write_text(json.dumps({
        "dataset": name, "scale": scale, "rows": total, "bytes": size, "files": files,
        "generator_version": GENERATOR_VERSION, "fact_rows": big_n,
    }, indent=2) + "\n")  # fmt: skip
    work.rename(folder)
    return DatasetInfo(folder, total, size)
