"""Dense search latency against index size, flat and HNSW, with the serving parameters.

    .venv/bin/python -m benchmarks.search_scaling [--sizes 10000,100000] [--million] [--quick]

Vectors are synthetic (normalised points around 2,000 random centres, the shape of a real
knowledge base's clusters): search latency depends on size, dimension and graph parameters, not on
the words. Queries are perturbed copies of stored vectors. For HNSW the recall@10 against the
exact (flat) answer is reported beside the latency. 1M is built only with ``--million`` (the suite
passes it; ``--quick`` drops it): the 1M HNSW graph takes about 4 minutes on 2 idle cores.

Writes benchmarks/results/search_scaling.json (the report plots it).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import faiss
import numpy as np

from benchmarks.common import time_calls, timing_stats, write_result
from txassist.knowledge.index import (
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_EF_SEARCH_LARGE,
    HNSW_LARGE_INDEX,
    HNSW_M,
    ef_search,
)

DIM = 384


def corpus(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(2000, DIM)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + rng.normal(scale=0.6, size=(n, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def queries(x: np.ndarray, count: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q = x[rng.integers(0, len(x), count)] + rng.normal(scale=0.05, size=(count, DIM)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q


def measure(index: Any, q: np.ndarray, repeat: int) -> dict[str, Any]:
    rows = iter(range(10**9))

    def one() -> None:
        row = next(rows) % len(q)
        index.search(q[row : row + 1], 10)

    return timing_stats(time_calls(one, repeat=repeat))


def one_size(n: int, repeat: int) -> dict[str, Any]:
    x = corpus(n)
    q = queries(x, 200)
    out: dict[str, Any] = {"chunks": n, "load_1m": round(os.getloadavg()[0], 2)}
    flat = faiss.IndexFlatIP(DIM)
    flat.add(x)
    faiss.omp_set_num_threads(1)  # serving: one thread per query, concurrency comes from requests
    out["flat"] = measure(flat, q, repeat)
    _, truth = flat.search(q, 10)
    faiss.omp_set_num_threads(len(os.sched_getaffinity(0)))
    started = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    hnsw.add(x)
    out["hnsw_build_s"] = round(time.perf_counter() - started, 1)
    faiss.omp_set_num_threads(1)
    for ef in (32, HNSW_EF_SEARCH, HNSW_EF_SEARCH_LARGE):
        hnsw.hnsw.efSearch = ef
        _, found = hnsw.search(q, 10)
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)]))
        out[f"hnsw_ef{ef}"] = measure(hnsw, q, repeat) | {"recall@10_vs_flat": round(recall, 4)}
    out["hnsw"] = out[f"hnsw_ef{ef_search(n)}"]  # what the service serves at this size
    # Serialised size = what the index holds in memory (vectors, graph links, levels).
    out["flat_index_mb"] = round(faiss.serialize_index(flat).size / 1e6, 1)
    out["hnsw_index_mb"] = round(faiss.serialize_index(hnsw).size / 1e6, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--million", action="store_true")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        sizes, args.repeat = [10_000, 30_000], 100
    args.million = args.million and not args.quick
    if args.million:
        sizes.append(1_000_000)
    results = []
    for n in sizes:
        row = one_size(n, args.repeat)
        print(row, flush=True)
        results.append(row)
    write_result(
        "search_scaling",
        {
            "sizes": results,
            "hnsw_params": {
                "M": HNSW_M,
                "efConstruction": HNSW_EF_CONSTRUCTION,
                "efSearch": f"{HNSW_EF_SEARCH}, {HNSW_EF_SEARCH_LARGE} past {HNSW_LARGE_INDEX:,}",
            },
            "one_million": "measured"
            if args.million
            else "not built in this run (--million: a 1M HNSW build takes minutes on 2 idle cores, tens of "
            "minutes on busy ones)",
        },
    )


if __name__ == "__main__":
    main()
