"""The turn's knowledge search with the sentence-unit index exact (flat) and as an HNSW graph, same run.

Uses the turn benchmark's 100k-chunk index (built by ``benchmarks.turn_latency`` when missing; its
38k unit rows sat below the old 50k ANN threshold, so the unit search was an exact scan). Each of
300 unseen BANKING77 queries is searched as a turn does (hybrid, k 5, the query vector given, so no
embedding is timed), first against the flat unit index, then against an HNSW graph of the same rows.
Reports p50 / p99 of the whole search and of the unit search alone, and how often the top 1 and the
top 5 agree.

    .venv/bin/python -m benchmarks.unit_index_ab    →  benchmarks/results/unit_index_ab.json
"""

from __future__ import annotations

import time
from typing import Any

import faiss
import numpy as np

from benchmarks.common import timing_stats, write_result
from benchmarks.turn_latency import CACHE, banking_texts, build_index
from txassist.config import Settings
from txassist.embedding import EmbeddingBatcher, TextEncoder
from txassist.health.readiness import Readiness
from txassist.knowledge.index import build_dense
from txassist.knowledge.service import KnowledgeService, use_serving_threads

QUERIES = slice(5000, 5300)  # past the 4,000 texts the index was made from


def timed(service: KnowledgeService, queries: list[str], vectors: np.ndarray[Any, Any]) -> dict[str, Any]:
    snapshot = service.snapshot
    search, units, tops = [], [], []
    for query, vector in zip(queries, vectors, strict=True):
        started = time.perf_counter()
        hits, _ = service._search_snapshot(snapshot, query, vector, 5, "hybrid", None)
        search.append(time.perf_counter() - started)
        tops.append([h.chunk_id for h in hits])
        started = time.perf_counter()
        snapshot.unit_search(vector, 50)
        units.append(time.perf_counter() - started)
    return {"search": timing_stats(search), "unit_search": timing_stats(units), "tops": tops}


def main() -> None:
    use_serving_threads()
    data_dir = CACHE / "data-100000"
    build_index(data_dir, 100_000)
    settings = Settings.from_env({}, data_dir=data_dir)
    encoder = TextEncoder(settings.embedding_model)
    encoder.warm_up()
    service = KnowledgeService(settings, encoder, EmbeddingBatcher(encoder), Readiness())
    service.reload_if_changed()
    snapshot = service.snapshot
    assert snapshot.units is not None
    queries = banking_texts()[QUERIES]
    vectors = encoder.encode(queries)
    rows = np.asarray(snapshot.units.vectors)
    snapshot.units.dense = build_dense("flat", rows, snapshot.dimension)
    flat = timed(service, queries, vectors)
    started = time.perf_counter()
    snapshot.units.dense = build_dense("hnsw", rows, snapshot.dimension)
    build_s = time.perf_counter() - started
    assert isinstance(snapshot.units.dense, faiss.IndexHNSW)
    hnsw = timed(service, queries, vectors)
    pairs = list(zip(flat.pop("tops"), hnsw.pop("tops"), strict=True))
    result = {
        "benchmark": "unit_index_ab",
        "chunks": len(snapshot.chunks),
        "unit_rows": len(rows),
        "queries": len(queries),
        "flat_units": flat,
        "hnsw_units": hnsw | {"build_s": round(build_s, 1)},
        "top1_agreement": round(float(np.mean([a[:1] == b[:1] for a, b in pairs])), 4),
        "top5_overlap": round(float(np.mean([len(set(a) & set(b)) / max(len(a), 1) for a, b in pairs])), 4),
        "ratio_search_p50_flat_to_hnsw": round(flat["search"]["p50_ms"] / hnsw["search"]["p50_ms"], 2),
    }
    print(write_result("unit_index_ab", result))
    print({k: v for k, v in result.items() if k not in ("flat_units", "hnsw_units")})
    print("flat", flat["search"], "\nhnsw", hnsw["search"])


if __name__ == "__main__":
    main()
